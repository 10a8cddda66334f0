/** A V8 flag the command sets, unless the user set one of `userFlags`. */
interface TunedFlag {
  readonly userFlags: readonly string[];
  readonly ours: string;
}

const TUNED: readonly TunedFlag[] = [
  {
    userFlags: ['--semi-space-growth-factor', '--max-semi-space-size', '--min-semi-space-size'],
    ours: '--semi-space-growth-factor=1',
  },
  { userFlags: ['--heap-growing-percent'], ours: '--heap-growing-percent=50' },
];

/** The command's heap flags that none of `given` (node's arguments and NODE_OPTIONS' words) overrides. */
export function heapFlagsToSet(given: readonly string[]): string[] {
  return TUNED.filter(({ userFlags }) => !given.some((arg) => userFlags.some((flag) => arg.startsWith(flag)))).map(({ ours }) => ours);
}
