import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { cycles, importGraph } from './import-graph.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Layer {
  readonly name: string;
  readonly below: readonly string[];
}
const { LAYERS } = (await import(join(ROOT, 'eslint.config.js'))) as { LAYERS: readonly Layer[] };

/** One existing file of each layer, linted with an import added to it. */
const HOST_FILE: Readonly<Record<string, string>> = {
  core: 'src/core/errors.ts',
  collectors: 'src/collectors/cpus.ts',
  metrics: 'src/metrics/walk.ts',
  tracker: 'src/tracker/snapshot.ts',
  integrations: 'src/integrations/pm2.ts',
  otel: 'src/otel/parse.ts',
  cli: 'src/cli/main.ts',
};

const eslint = new ESLint({ cwd: ROOT });

/** The no-restricted-imports messages for `file` with `line` appended. */
async function restrictedBy(file: string, line: string): Promise<string[]> {
  const text = `${readFileSync(join(ROOT, file), 'utf8')}\n${line}\n`;
  const [result] = await eslint.lintText(text, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layers of src/', () => {
  it('cover every folder of src/, and the lint rule names a file of each', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(LAYERS.map((layer) => layer.name).sort()).toEqual(folders);
    expect(Object.keys(HOST_FILE).sort()).toEqual(folders);
  });

  it('have no folder-level cycle, and no file imports itself back', () => {
    const edges = importGraph(ROOT);
    expect(edges.length).toBeGreaterThan(100);
    expect(cycles(edges.map((edge) => [dirname(edge.from), dirname(edge.to)]))).toEqual([]);
    expect(cycles(edges.map((edge) => [edge.from, edge.to]))).toEqual([]);
  });

  it('read /proc and /sys/fs/cgroup through one root object only', () => {
    const named: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) visit(path);
        else if (entry.name.endsWith('.ts')) {
          readFileSync(join(ROOT, path), 'utf8')
            .split('\n')
            .forEach((line, i) => {
              const code = line.replace(/^\s*(\/\/|\/?\*).*$/, '');
              if (/['"`]\/(proc|sys\/fs\/cgroup)\b/.test(code)) named.push(`${path}:${i + 1}`);
            });
        }
      }
    };
    visit('src');
    expect(named).toEqual([expect.stringMatching(/^src\/collectors\/procfs\/host-root\.ts:\d+$/)]);
  });

  it('are each drawn in ARCHITECTURE.md', () => {
    const text = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    for (const layer of LAYERS) expect(text).toContain(`src/${layer.name}/`);
  });

  // One lint run per layer: every import that reaches up or sideways is refused, every one downward is not.
  it.each(LAYERS.map((layer) => [layer.name, layer] as const))(
    'lint refuses an import from src/%s/ into a layer above or beside it',
    async (_name, layer) => {
      const file = HOST_FILE[layer.name] as string;
      const depth = file.split('/').length - 2;
      const up = '../'.repeat(depth);
      for (const other of LAYERS) {
        if (other.name === layer.name) continue;
        const messages = await restrictedBy(
          file,
          `import '${up}${other.name}/${HOST_FILE[other.name]?.split('/').pop()?.replace('.ts', '.js') ?? ''}';`,
        );
        if (layer.below.includes(other.name)) expect(messages, `${layer.name} -> ${other.name}`).toEqual([]);
        else expect(messages, `${layer.name} -> ${other.name}`).toEqual([expect.stringContaining(`src/${layer.name}/ may import`)]);
      }
    },
    60_000,
  );

  it('lint keeps the OpenTelemetry SDK out of every layer below otel/', async () => {
    for (const layer of ['core', 'collectors', 'metrics', 'tracker']) {
      const messages = await restrictedBy(HOST_FILE[layer] as string, "import '@opentelemetry/sdk-metrics';");
      expect(messages, layer).toEqual([expect.stringContaining('OpenTelemetry API only')]);
      expect(await restrictedBy(HOST_FILE[layer] as string, "import '@opentelemetry/api';"), layer).toEqual([]);
    }
    expect(await restrictedBy(HOST_FILE['otel'] as string, "import '@opentelemetry/sdk-metrics';")).toEqual([]);
  }, 60_000);
});
