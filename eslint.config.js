// ESLint with typescript-eslint's strict type-aware rules for the TypeScript sources, tests,
// benchmarks and examples; ESLint's recommended rules for the .mjs/.js scripts, which no tsconfig
// includes. Layout is Prettier's job, so no stylistic rule is enabled here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, bottom first. A file may import its own layer and the
 * layers below it, never one above or beside it: ARCHITECTURE.md draws the
 * same picture, and this rule is what keeps the two true.
 */
export const LAYERS = [
  { name: 'core', below: [] },
  { name: 'collectors', below: ['core'] },
  { name: 'metrics', below: ['core'] },
  { name: 'tracker', below: ['core', 'collectors', 'metrics'] },
  { name: 'integrations', below: ['core', 'collectors', 'metrics', 'tracker'] },
  { name: 'otel', below: ['core', 'collectors', 'metrics', 'tracker'] },
  { name: 'cli', below: ['core', 'collectors', 'metrics', 'tracker', 'integrations', 'otel'] },
];
/** Only the SDK pipelines (otel/) and the command may load the OpenTelemetry SDK; the rest needs the API alone. */
const SDK_LAYERS = new Set(['otel', 'cli']);
const SDK_PACKAGES = ['@opentelemetry/*', '!@opentelemetry/api'];

function layerRules({ name, below }) {
  const others = LAYERS.map((layer) => layer.name).filter((other) => other !== name && !below.includes(other));
  const patterns = [
    {
      // A relative import that climbs out of the layer straight into another one.
      regex: `^(\\.\\./)+(${others.join('|')})/`,
      message: `src/${name}/ may import ${below.length === 0 ? 'nothing outside itself' : below.map((layer) => `src/${layer}/`).join(', ')}: this import reaches a layer above or beside it (see ARCHITECTURE.md).`,
    },
  ];
  if (!SDK_LAYERS.has(name)) {
    patterns.push({ group: SDK_PACKAGES, message: `src/${name}/ uses the OpenTelemetry API only; SDK code belongs in src/otel/.` });
  }
  return { files: [`src/${name}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.readme-samples-*/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    rules: {
      // `const { dropped, ...rest } = x` is how a test leaves fields out; `_` names a value not needed.
      'no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_$' }],
      // The code validates and strips terminal control characters on purpose (service names,
      // commands, exporter messages, escape sequences in the live view).
      'no-control-regex': 'off',
      // `l` is V8's linear-time engine, switched on by src/cli/options/pattern.ts.
      'no-invalid-regexp': ['error', { allowConstructorFlags: ['l'] }],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_$' }],
      // An async function that implements a promise-returning contract needs no await: async is
      // what turns its throw into a rejection. Missing awaits are no-floating-promises' job.
      '@typescript-eslint/require-await': 'off',
      // Numbers read naturally in messages; anything else must be made a string on purpose.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false },
      ],
      // `() => resolve()` and `(error) => reject(error)` are the usual callback shape.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Spreading a string into code points is how names and table cells are measured and cut.
      '@typescript-eslint/no-misused-spread': ['error', { allow: ['string'] }],
    },
  },
  ...LAYERS.map(layerRules),
  {
    // The library's entry exports what the tracker layer and those below it offer, and the
    // integrations (PM2, node:cluster) that sit on the tracker.
    files: ['src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\./(otel|cli)/',
              message: "The library's entry stops at the tracker and integrations layers; telemetry is 'procmetrics/otel'.",
            },
            { group: SDK_PACKAGES, message: 'The library entry uses the OpenTelemetry API only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // A test that asserts something exists fails either way when it does not.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Vitest types its asymmetric matchers (`expect.stringContaining(...)`) as `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
);
