export type { FactNeeds, ProcessFacts } from './facts.js';
export { containerIdOfCgroup, unitOfCgroup } from './facts.js';
export { TEMPLATE_FIELDS } from './template.js';
export type { CompiledGroupRules, GroupRule, RuleMatch } from './rules.js';
export { compileGroupRules, factsNeeded, matchProcess } from './rules.js';
export type { AssignOptions, ProcessGroup } from './assign.js';
export { assignGroups } from './assign.js';
export { parseProcessExporterConfig } from './process-exporter.js';
