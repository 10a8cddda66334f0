import { InvalidArgumentValueError } from '../../core/errors.js';
import { MAX_GROUP_TEMPLATE_LENGTH, MAX_SERVICE_NAME_LENGTH } from '../../core/limits.js';
import { baseName, containerIdOfCgroup, executableOf, unitOfCgroup, type FactNeeds, type ProcessFacts } from './facts.js';

/** The fields a name or label template may use, written `{{.Field}}` (and `{{.Matches.NAME}}`). */
const TEMPLATE_FIELDS = [
  'Comm',
  'ExeBase',
  'ExeFull',
  'Username',
  'PID',
  'StartTime',
  'Cgroups',
  'Unit',
  'ContainerId',
  'Arg1',
  'Matches.NAME',
] as const;

type Field = Exclude<(typeof TEMPLATE_FIELDS)[number], 'Matches.NAME'>;

const SIMPLE_FIELDS = new Set<string>(TEMPLATE_FIELDS.filter((field) => field !== 'Matches.NAME'));

type Part = string | { field: Field } | { match: string };

/** A compiled template: renders from a process's facts and the named captures of its rule's cmdline patterns. */
export interface Template {
  readonly source: string;
  render(facts: ProcessFacts, matches: Readonly<Record<string, string>>): string;
  /** The capture names the template reads. */
  readonly captures: readonly string[];
}

function describeFields(): string {
  return TEMPLATE_FIELDS.map((field) => `.${field}`).join(' ');
}

/**
 * Compiles a process-exporter style template. Only `{{.Field}}` and
 * `{{.Matches.NAME}}` are understood; any other construct (pipelines, `if`,
 * functions, unknown fields) is refused by name, so a config never renders
 * something other than what its author meant.
 * `argument` names the template in errors (`rules[0].name`).
 */
export function compileTemplate(source: string, argument: string, captureNames: ReadonlySet<string>): Template {
  if (source.length > MAX_GROUP_TEMPLATE_LENGTH) {
    throw new InvalidArgumentValueError(`${argument}: template is ${source.length} characters long; at most ${MAX_GROUP_TEMPLATE_LENGTH}`);
  }
  const parts: Part[] = [];
  const captures: string[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    const strayClose = rest.indexOf('}}');
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      throw new InvalidArgumentValueError(`${argument}: template has '}}' without '{{' in ${JSON.stringify(source)}`);
    }
    if (open === -1) {
      parts.push(rest);
      break;
    }
    if (open > 0) parts.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) throw new InvalidArgumentValueError(`${argument}: template has '{{' without '}}' in ${JSON.stringify(source)}`);
    const action = rest.slice(open + 2, close).trim();
    parts.push(compileAction(action, argument, captureNames, captures));
    rest = rest.slice(close + 2);
  }
  return {
    source,
    captures,
    render(facts, matches) {
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') out += part;
        else if ('field' in part) out += fieldValue(part.field, facts);
        else out += matches[part.match] ?? '';
      }
      return out;
    },
  };
}

function compileAction(action: string, argument: string, captureNames: ReadonlySet<string>, captures: string[]): Part {
  if (action.startsWith('.Matches.')) {
    const name = action.slice('.Matches.'.length);
    if (!captureNames.has(name)) {
      const known = [...captureNames].join(', ');
      throw new InvalidArgumentValueError(
        `${argument}: template field .Matches.${name} names no capture group of the rule's cmdline patterns` +
          (known === '' ? ' (they have none)' : `; they have: ${known}`),
      );
    }
    captures.push(name);
    return { match: name };
  }
  if (/^\.[A-Za-z][A-Za-z0-9]*$/.test(action)) {
    const field = action.slice(1);
    if (SIMPLE_FIELDS.has(field)) return { field: field as Field };
    throw new InvalidArgumentValueError(`${argument}: template field ${action} is not supported; supported: ${describeFields()}`);
  }
  throw new InvalidArgumentValueError(
    `${argument}: template construct {{${action}}} is not supported (only fields are); supported: ${describeFields()}`,
  );
}

function fieldValue(field: Field, facts: ProcessFacts): string {
  switch (field) {
    case 'Comm':
      return facts.comm;
    case 'ExeBase':
      return baseName(executableOf(facts));
    case 'ExeFull':
      return executableOf(facts);
    case 'Username':
      return facts.user ?? (facts.uid === null ? '' : String(facts.uid));
    case 'PID':
      return String(facts.pid);
    case 'StartTime':
      return String(facts.startTicks);
    case 'Cgroups':
      return facts.cgroup ?? '';
    case 'Unit':
      return unitOfCgroup(facts.cgroup);
    case 'ContainerId':
      return containerIdOfCgroup(facts.cgroup);
    case 'Arg1':
      // The first argument: the script of an interpreter (`node server.js`, `python3 -m app` gives -m).
      return facts.argv?.[1] ?? '';
  }
}

/** Adds to `needs` the facts the template's fields read. */
export function templateNeeds(template: Template, needs: FactNeeds): void {
  const source = template.source;
  if (source.includes('.Exe')) {
    needs.exe = true;
    needs.argv = true;
  }
  if (source.includes('.Username')) needs.user = true;
  if (source.includes('.Cgroups') || source.includes('.Unit') || source.includes('.ContainerId')) needs.cgroup = true;
  if (template.captures.length > 0 || source.includes('.Arg1')) needs.argv = true;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes a rendering usable as a value: control characters become '_', lone
 * surrogates become U+FFFD, and the text is cut to `maxLength` code points.
 * Never throws.
 */
export function sanitize(text: string, maxLength: number): string {
  const clean0 = text.replace(CONTROL_CHARACTERS, '_');
  const clean = clean0.replace(LONE_SURROGATE, '\ufffd');
  if (clean.length <= maxLength) return clean;
  const points = [...clean];
  return points.length <= maxLength ? clean : points.slice(0, maxLength).join('');
}

/**
 * A rendered group name made fit for a service name (see validateServiceName):
 * sanitized, cut to the service name bound, and, when empty, the process's
 * command name, or `pid-PID` when that is empty too.
 */
export function groupName(rendered: string, facts: ProcessFacts): string {
  const name = sanitize(rendered, MAX_SERVICE_NAME_LENGTH);
  if (name !== '') return name;
  const comm = sanitize(facts.comm, MAX_SERVICE_NAME_LENGTH);
  return comm !== '' ? comm : `pid-${facts.pid}`;
}
