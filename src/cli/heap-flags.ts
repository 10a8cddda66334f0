/**
 * V8 sizes its heap for throughput; a monitor that runs for months beside the
 * services it watches should stay small. The command's garbage comes at a
 * steady pace: every tick replaces every service's snapshot, every scrape
 * writes the whole exposition. Two settings follow from that:
 *
 * - The young generation keeps its initial size. V8 doubles it whenever
 *   allocation runs fast, up to 16 MiB a semi-space (48 MiB of address space,
 *   most of it resident), and seldom gives it back; the command's bursts of
 *   short-lived garbage gained little speed from it. At 2,000 services, about
 *   a quarter of the RSS.
 * - The old generation may grow by half of what survived the last full
 *   collection before the next one, where V8 lets it grow up to fourfold. The
 *   snapshots a tick replaces are old by then, so a larger old generation only
 *   lets them pile up: at 10,000 services the RSS fell from about 196 to
 *   124-141 MiB, for CPU within the noise.
 *
 * The flags are set at run time, before anything allocates much: a shebang
 * line cannot carry Node.js flags portably. A setting of the user's (on node's
 * command line, or in NODE_OPTIONS for the flags it accepts) is left alone.
 */
import { setFlagsFromString } from 'node:v8';
import { heapFlagsToSet } from './heap-flag-choice.js';

for (const flag of heapFlagsToSet([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)])) setFlagsFromString(flag);
