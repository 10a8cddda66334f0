/** Sends `signal` to the process group led by `leader`; a group already gone is not an error. */
export function killGroup(leader: number | undefined, signal: NodeJS.Signals): void {
  if (leader === undefined) return;
  try {
    process.kill(-leader, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
}
