import { InvalidArgumentTypeError, InvalidArgumentValueError, describeValue } from '../../core/errors.js';
import { MAX_GROUP_LABEL_VALUE_LENGTH, MAX_GROUP_LABELS, MAX_GROUP_RULES } from '../../core/limits.js';
import { compilePattern } from '../../core/pattern.js';
import { baseName, executableOf, type FactNeeds, type ProcessFacts } from './facts.js';
import { compileTemplate, groupName, sanitize, templateNeeds, type Template } from './template.js';

/**
 * One grouping rule. Every matcher given must match (AND); within a list any
 * entry may (OR), except `cmdline`, whose patterns must all match.
 */
export interface GroupRule {
  /** Template of the group's name, e.g. `{{.Comm}}` or `web-{{.Matches.site}}`. */
  readonly name: string;
  /** Command names (as in /proc/PID/comm); any equal one matches. */
  readonly comm?: readonly string[];
  /** Executables: an entry with a '/' is compared with the full path, one without with its last segment. */
  readonly exe?: readonly string[];
  /** Regular expressions (linear-time engine), all of which must match the arguments joined by spaces. Named captures feed `{{.Matches.NAME}}`. */
  readonly cmdline?: readonly string[];
  /** User names (or numeric uids written as text); any equal one matches. */
  readonly user?: readonly string[];
  /** A regular expression the cgroup v2 path must match. */
  readonly cgroup?: string;
  /** Whether descendants that match no rule of their own join this rule's group (default true). */
  readonly children?: boolean;
  /** Extra labels for the rule's groups: name to value template. */
  readonly labels?: Readonly<Record<string, string>>;
}

interface CompiledRule {
  readonly index: number;
  readonly children: boolean;
  readonly comm: ReadonlySet<string> | null;
  readonly exeFull: ReadonlySet<string> | null;
  readonly exeBase: ReadonlySet<string> | null;
  readonly cmdline: readonly RegExp[];
  /** Whether any cmdline pattern has named captures (otherwise `test` is enough). */
  readonly captures: boolean;
  /** Outcome of the cmdline patterns by command line, kept across passes (see CMDLINE_CACHE_ENTRIES). */
  readonly cmdlineCache: Map<string, Readonly<Record<string, string>> | null>;
  readonly user: ReadonlySet<string> | null;
  readonly cgroup: RegExp | null;
  readonly name: Template;
  readonly labels: readonly (readonly [string, Template])[];
}

/** A rule set ready to match, from compileGroupRules. */
export interface CompiledGroupRules {
  readonly rules: readonly CompiledRule[];
  /** The facts the rules read: the reader need not read the others. */
  readonly needs: Readonly<FactNeeds>;
}

/** What a matching rule gives one process. */
export interface RuleMatch {
  /** Index of the rule in the rule set. */
  readonly rule: number;
  readonly children: boolean;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Go's named capture syntax `(?P<name>` as JavaScript writes it, so process-exporter patterns carry over. */
function fromGoCaptureSyntax(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '\\') {
      out += source.slice(i, i + 2);
      i += 1;
    } else if (source.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else {
      out += source.charAt(i);
    }
  }
  return out;
}

function regex(source: unknown, argument: string): RegExp {
  if (typeof source !== 'string') throw new InvalidArgumentTypeError(`${argument} must be a string; got ${describeValue(source)}`);
  const compiled = compilePattern(fromGoCaptureSyntax(source));
  if (compiled instanceof RegExp) return compiled;
  throw new InvalidArgumentValueError(`${argument}: ${compiled.problem}; got ${JSON.stringify(source)}`);
}

function stringList(value: unknown, argument: string): readonly string[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value)) throw new InvalidArgumentTypeError(`${argument} must be an array of strings; got ${describeValue(value)}`);
  if (value.length === 0) throw new InvalidArgumentValueError(`${argument} must not be empty (leave it out to match any)`);
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || entry === '') {
      throw new InvalidArgumentValueError(`${argument}[${i}] must be a non-empty string; got ${describeValue(entry)}`);
    }
  });
  return value as string[];
}

const RULE_KEYS = new Set(['name', 'comm', 'exe', 'cmdline', 'user', 'cgroup', 'children', 'labels']);

function compileRule(rule: unknown, index: number): CompiledRule {
  const at = `rules[${index}]`;
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    throw new InvalidArgumentTypeError(`${at} must be an object; got ${describeValue(rule)}`);
  }
  const given = rule as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!RULE_KEYS.has(key)) throw new InvalidArgumentValueError(`${at}.${key} is not a rule field; fields: ${[...RULE_KEYS].join(', ')}`);
  }
  const comm = stringList(given.comm, `${at}.comm`);
  const exe = stringList(given.exe, `${at}.exe`);
  const user = stringList(given.user, `${at}.user`);
  const cmdlineSources = stringList(given.cmdline, `${at}.cmdline`) ?? [];
  const cmdline = cmdlineSources.map((source, i) => regex(source, `${at}.cmdline[${i}]`));
  const cgroup = given.cgroup === undefined ? null : regex(given.cgroup, `${at}.cgroup`);
  if (comm === null && exe === null && user === null && cmdline.length === 0 && cgroup === null) {
    throw new InvalidArgumentValueError(
      `${at} has no matcher; give at least one of comm, exe, cmdline, user, cgroup (cmdline ['.*'] matches every process)`,
    );
  }
  const children = given.children ?? true;
  if (typeof children !== 'boolean') throw new InvalidArgumentTypeError(`${at}.children must be a boolean; got ${describeValue(children)}`);

  const captureNames = new Set<string>();
  for (const pattern of cmdline) {
    for (const [, name] of pattern.source.matchAll(/\(\?<([A-Za-z_$][A-Za-z0-9_$]*)>/g)) captureNames.add(name ?? '');
  }
  if (typeof given.name !== 'string') throw new InvalidArgumentTypeError(`${at}.name must be a string; got ${describeValue(given.name)}`);
  if (given.name === '') throw new InvalidArgumentValueError(`${at}.name must not be empty`);
  const name = compileTemplate(given.name, `${at}.name`, captureNames);

  const labels: [string, Template][] = [];
  if (given.labels !== undefined) {
    const record = given.labels;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new InvalidArgumentTypeError(`${at}.labels must be an object of strings; got ${describeValue(record)}`);
    }
    const entries = Object.entries(record as Record<string, unknown>);
    if (entries.length > MAX_GROUP_LABELS) {
      throw new InvalidArgumentValueError(`${at}.labels has ${entries.length} labels; at most ${MAX_GROUP_LABELS}`);
    }
    for (const [label, value] of entries) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) {
        throw new InvalidArgumentValueError(
          `${at}.labels: ${JSON.stringify(label)} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`,
        );
      }
      if (typeof value !== 'string')
        throw new InvalidArgumentTypeError(`${at}.labels.${label} must be a string; got ${describeValue(value)}`);
      labels.push([label, compileTemplate(value, `${at}.labels.${label}`, captureNames)]);
    }
  }

  return {
    index,
    children,
    comm: comm === null ? null : new Set(comm),
    exeFull: exe === null ? null : new Set(exe.filter((entry) => entry.includes('/'))),
    exeBase: exe === null ? null : new Set(exe.filter((entry) => !entry.includes('/'))),
    cmdline,
    captures: captureNames.size > 0,
    cmdlineCache: new Map(),
    user: user === null ? null : new Set(user),
    cgroup,
    name,
    labels,
  };
}

/**
 * Checks and compiles a rule set. Errors are InvalidArgumentTypeError or
 * InvalidArgumentValueError naming the rule and field (`rules[2].cmdline[0]: ...`).
 */
export function compileGroupRules(rules: readonly GroupRule[]): CompiledGroupRules {
  if (!Array.isArray(rules)) throw new InvalidArgumentTypeError(`rules must be an array; got ${describeValue(rules)}`);
  if (rules.length === 0) throw new InvalidArgumentValueError('rules must not be empty');
  if (rules.length > MAX_GROUP_RULES) throw new InvalidArgumentValueError(`rules has ${rules.length} rules; at most ${MAX_GROUP_RULES}`);
  const compiled = rules.map((rule: unknown, index) => compileRule(rule, index));
  const needs: FactNeeds = { exe: false, argv: false, user: false, cgroup: false };
  for (const rule of compiled) {
    if (rule.exeFull !== null) {
      needs.exe = true;
      needs.argv = true;
    }
    if (rule.cmdline.length > 0) needs.argv = true;
    if (rule.user !== null) needs.user = true;
    if (rule.cgroup !== null) needs.cgroup = true;
    templateNeeds(rule.name, needs);
    for (const [, template] of rule.labels) templateNeeds(template, needs);
  }
  return { rules: compiled, needs };
}

/** The facts a compiled rule set reads (exe, argv, user, cgroup): what the reader must fill in. */
export function factsNeeded(rules: CompiledGroupRules): FactNeeds {
  return { ...rules.needs };
}

const NO_MATCHES: Readonly<Record<string, string>> = Object.freeze({});

function matchRule(rule: CompiledRule, facts: ProcessFacts, commandLine: () => string): Readonly<Record<string, string>> | null {
  if (rule.comm !== null && !rule.comm.has(facts.comm)) return null;
  if (rule.exeFull !== null && rule.exeBase !== null) {
    const exe = executableOf(facts);
    if (!rule.exeFull.has(exe) && !rule.exeBase.has(baseName(exe))) return null;
  }
  if (rule.user !== null) {
    const byName = facts.user !== null && rule.user.has(facts.user);
    if (!byName && !(facts.uid !== null && rule.user.has(String(facts.uid)))) return null;
  }
  if (rule.cgroup !== null && (facts.cgroup === null || !rule.cgroup.test(facts.cgroup))) return null;
  if (rule.cmdline.length === 0) return NO_MATCHES;
  const text = commandLine();
  const cached = rule.cmdlineCache.get(text);
  if (cached !== undefined) return cached;
  const outcome = matchCommandLine(rule, text);
  if (rule.cmdlineCache.size >= CMDLINE_CACHE_ENTRIES) rule.cmdlineCache.clear();
  rule.cmdlineCache.set(text, outcome);
  return outcome;
}

/**
 * Command lines whose outcome a rule remembers. The linear-time engine costs
 * microseconds a match, and a host's command lines change little between
 * passes (and repeat across workers), so a pass mostly looks outcomes up.
 * The cache is emptied when full: it bounds memory, not correctness.
 */
const CMDLINE_CACHE_ENTRIES = 32_768;

function matchCommandLine(rule: CompiledRule, text: string): Readonly<Record<string, string>> | null {
  if (!rule.captures) return rule.cmdline.every((pattern) => pattern.test(text)) ? NO_MATCHES : null;
  let captures: Record<string, string> | null = null;
  for (const pattern of rule.cmdline) {
    const found = pattern.exec(text);
    if (found === null) return null;
    if (found.groups !== undefined) {
      captures ??= {};
      for (const [name, value] of Object.entries(found.groups)) captures[name] = value;
    }
  }
  return captures ?? NO_MATCHES;
}

/**
 * The first rule that matches the process, with its rendered group name and
 * labels, or null when none does. Never throws on odd facts: a rendering that
 * is empty or not a valid name is mended (see groupName).
 */
export function matchProcess(rules: CompiledGroupRules, facts: ProcessFacts): RuleMatch | null {
  let joined: string | undefined;
  const commandLine = (): string => (joined ??= facts.argv === null ? '' : facts.argv.join(' '));
  for (const rule of rules.rules) {
    const matches = matchRule(rule, facts, commandLine);
    if (matches === null) continue;
    const labels: Record<string, string> = rule.labels.length === 0 ? NO_MATCHES : {};
    for (const [label, template] of rule.labels) labels[label] = sanitize(template.render(facts, matches), MAX_GROUP_LABEL_VALUE_LENGTH);
    return { rule: rule.index, children: rule.children, name: groupName(rule.name.render(facts, matches), facts), labels };
  }
  return null;
}
