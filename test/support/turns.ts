/** A running count of the event loop's turns (setImmediate callbacks), from its making until stop(). */
export interface TurnCounter {
  readonly turns: number;
  stop(): void;
}

export function countTurns(): TurnCounter {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop() {
      running = false;
    },
  };
}

/** Counts how often the event loop got a turn until `work` settles. */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  const counter = countTurns();
  try {
    const result = await work();
    return { result, turns: counter.turns };
  } finally {
    counter.stop();
  }
}
