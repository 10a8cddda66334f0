import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { InvalidArgumentValueError } from '../../core/errors.js';
import type { GroupRule } from './rules.js';

const ENTRY_KEYS = ['name', 'comm', 'exe', 'cmdline'];

/**
 * Reads a process-exporter config file (`process_names:`, each entry with
 * `name`, `comm`, `exe`, `cmdline`) as group rules, in its order. Anything
 * else is refused by name, with its line: a file that means something we do
 * not do is not half-applied. Go's `(?P<name>...)` captures are accepted.
 * The rules still go through compileGroupRules, which checks patterns and
 * templates.
 */
export function parseProcessExporterConfig(text: string): GroupRule[] {
  return parseRulesFile(text, false);
}

/**
 * A rules file of either form: a process-exporter config (`process_names:`),
 * or our own (`groups:`, a list of GroupRule with every matcher, `children`
 * and `labels`, checked by compileGroupRules, which names what is wrong).
 */
export function parseRulesFile(text: string, ours = true): GroupRule[] {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const where = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? '' : `line ${lines.linePos(offset).line}: `;
  };
  const first = document.errors[0];
  if (first !== undefined) {
    throw new InvalidArgumentValueError(
      `${ours ? 'rules file' : 'process-exporter config'} is not valid YAML: line ${first.linePos?.[0].line ?? 0}: ${first.message.split('\n')[0] ?? first.message}`,
    );
  }
  const root = document.contents;
  if (!isMap(root))
    throw new InvalidArgumentValueError(
      `process-exporter config must be a mapping with process_names; got ${root === null ? 'an empty file' : 'something else'}`,
    );
  let list: Node | null = null;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (ours && key === 'groups' && root.items.length === 1) {
      const groups: unknown = (pair.value as Node | null)?.toJSON();
      if (!Array.isArray(groups)) throw new InvalidArgumentValueError(`${where(pair.value)}groups must be a list of rules`);
      return groups as GroupRule[];
    }
    if (key !== 'process_names') {
      throw new InvalidArgumentValueError(
        `${where(pair.key)}process-exporter config key ${JSON.stringify(key)} is not supported; supported: process_names${ours ? ' (or groups, alone)' : ''}`,
      );
    }
    list = pair.value;
  }
  if (!isSeq(list)) throw new InvalidArgumentValueError(`${where(list ?? root)}process_names must be a list of entries`);

  return list.items.map((item, index) => {
    const at = `process_names[${index}]`;
    const node = item as Node;
    if (!isMap(node)) throw new InvalidArgumentValueError(`${where(node)}${at} must be a mapping`);
    const rule: { name?: unknown; comm?: unknown; exe?: unknown; cmdline?: unknown } = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (!ENTRY_KEYS.includes(key)) {
        throw new InvalidArgumentValueError(`${where(pair.key as Node)}${at}.${key} is not supported; supported: ${ENTRY_KEYS.join(', ')}`);
      }
      const value: unknown = (pair.value as Node | null)?.toJSON();
      if (key === 'name') {
        if (typeof value !== 'string') throw new InvalidArgumentValueError(`${where(pair.value as Node)}${at}.name must be a string`);
        rule.name = value;
      } else {
        if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
          throw new InvalidArgumentValueError(`${where(pair.value as Node)}${at}.${key} must be a list of strings`);
        }
        rule[key as 'comm'] = value;
      }
    }
    // process-exporter names a group by its executable's base name when no name is given.
    return { ...rule, name: rule.name ?? '{{.ExeBase}}' } as GroupRule;
  });
}
