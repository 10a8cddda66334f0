/**
 * V8 doubles its young generation whenever allocation runs fast, up to 16 MiB
 * a semi-space (48 MiB of address space, most of it resident), and seldom
 * gives it back. The command allocates in bursts (a tick, a scrape, a batch of
 * `--json` lines) whose garbage dies young, so the doubling bought little
 * speed for a lot of memory: at 2,000 services, about a quarter of the RSS.
 * Here the young generation keeps its initial size.
 *
 * The flag is set at run time, before anything allocates much: a shebang line
 * cannot carry Node.js flags portably. A user who tunes the young generation
 * (on the command line or in NODE_OPTIONS) keeps their setting.
 */
import { setFlagsFromString } from 'node:v8';

const YOUNG_GENERATION_FLAGS = ['--semi-space-growth-factor', '--max-semi-space-size', '--min-semi-space-size'];

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (!given.some((arg) => YOUNG_GENERATION_FLAGS.some((flag) => arg.startsWith(flag)))) {
  setFlagsFromString('--semi-space-growth-factor=1');
}
