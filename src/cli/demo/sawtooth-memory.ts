/**
 * Demo workload: resident memory in a sawtooth. It grows by 10 MiB a second
 * until it holds 100 MiB (about 150 MiB resident with Node's own), then lets go
 * of all of it at once, and starts over. The pages are written to, so they are
 * resident, not merely reserved.
 */
const STEP_BYTES = 10 * 1024 * 1024;
const PEAK_BYTES = 100 * 1024 * 1024;
const STEP_MS = 1000;

let held: Buffer[] = [];

setInterval(() => {
  if (held.length * STEP_BYTES >= PEAK_BYTES) {
    held = [];
    // Started with --expose-gc: give the memory back now rather than whenever V8 gets round to it.
    (globalThis as { gc?: () => void }).gc?.();
    return;
  }
  held.push(Buffer.alloc(STEP_BYTES, 1));
}, STEP_MS);
