import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Marks the run's processes and lists the suites that could not run here (global-setup.ts);
    // fails a file that leaves a process behind (leftovers.setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/leftovers.setup.ts'],
    // A test that asserts nothing cannot fail: each must make at least one expect() call.
    expect: { requireAssertions: true },
    // Accuracy tests burn CPU on purpose; running files one after another keeps
    // them from competing with each other for the two cores of a CI machine.
    fileParallelism: false,
    // CI also keeps a machine-readable summary, from which .ci/run prints its closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
