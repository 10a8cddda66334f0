// What extra service labels cost a Prometheus scrape: the endpoint's text for N running
// services (the synthetic snapshots of scrape.mjs), with no labels and with three, in bytes
// as sent and gzipped (Prometheus asks for gzip). The series count is the same both ways.
//
//   npm run build && node bench/label-bytes.mjs          (SERVICES=200 by default)
import { gzipSync } from 'node:zlib';
import { emptyStats } from '../dist/core/stats.js';
import { ExpositionWriter } from '../dist/otel/exposition.js';
import { compileTable } from '../dist/metrics/walk.js';
import { SourceSet } from '../dist/otel/source-set.js';
import { snapshot } from './synthetic.mjs';

const SERVICES = Number(process.env.SERVICES ?? 200);
const THREE = Object.freeze({ team: 'payments', tier: '1', region: 'eu-west-1' });

async function scrape(labels) {
  const snapshots = Array.from({ length: SERVICES }, (_, i) => snapshot(i, 1, labels));
  const stats = { ...emptyStats(5000), ticks: 1, lastTickDurationMs: 1, services: SERVICES };
  const sources = new SourceSet();
  sources.add({ forEachSnapshot: (visit) => snapshots.forEach(visit), stats: () => stats, collectorErrorCounts: () => new Map() });
  const writer = new ExpositionWriter(compileTable(), { fallbackCpus: 2 }, { 'service.name': 'bench' });
  const blocks = [];
  await writer.write(sources.gather(sources.consumer()), (block) => void blocks.push(block));
  const body = Buffer.concat(blocks);
  const series = body
    .toString()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#')).length;
  return { bytes: body.length, gzip: gzipSync(body).length, series };
}

const none = await scrape(Object.freeze({}));
const three = await scrape(THREE);
console.log(`${SERVICES} running services, labels ${JSON.stringify(THREE)}`);
console.log('| labels | series | bytes | gzip bytes |');
console.log('|---|---:|---:|---:|');
for (const [name, r] of [
  ['none', none],
  ['3', three],
])
  console.log(`| ${name} | ${r.series} | ${r.bytes} | ${r.gzip} |`);
const extra = three.bytes - none.bytes;
console.log(
  `\n+${extra} bytes (+${((extra / none.bytes) * 100).toFixed(0)} %), ${(extra / three.series).toFixed(1)} bytes per series; gzip +${three.gzip - none.gzip}`,
);
