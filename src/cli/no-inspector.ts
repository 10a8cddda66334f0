/**
 * Node.js opens its inspector (a debugger that runs any code sent to it, on
 * 127.0.0.1:9229) when the process receives SIGUSR1. For a supervisor running
 * as root that would let any local user run code as root, so SIGUSR1 does
 * nothing here: a listener of our own replaces Node's, on every Node.js
 * version. This module is the command's first import, so the listener is in
 * place before anything else runs; an inspector opened in the instant before
 * (and not asked for with --inspect) is closed again.
 */
process.on('SIGUSR1', () => undefined);

const asked = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith('--inspect'));
if (!asked) {
  try {
    const inspector = await import('node:inspector');
    if (inspector.url() !== undefined) inspector.close();
  } catch {
    // A Node.js built without the inspector has nothing to close.
  }
}
