export type { ProcessFacts } from './facts.js';
export { containerIdOfCgroup, unitOfCgroup } from './facts.js';
export type { GroupRule } from './rules.js';
export { compileGroupRules, factsNeeded, matchProcess } from './rules.js';
export type { AssignOptions } from './assign.js';
export { assignGroups } from './assign.js';
export { parseProcessExporterConfig, parseRulesFile } from './process-exporter.js';
export { groupingOf, processGroup } from './grouping.js';
