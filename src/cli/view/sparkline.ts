const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * The last `width` values as Unicode blocks, oldest first. The scale runs from 0
 * to `fullScale` (100 = one whole core), stretched only when a value exceeds it,
 * so that a steady 25 % looks the same on every row instead of filling the height.
 */
export function sparkline(values: readonly number[], width: number, fullScale = 100): string {
  if (width <= 0) return '';
  const shown = values.slice(-width);
  const top = Math.max(fullScale, ...shown.filter(Number.isFinite));
  return shown
    .map((value) => {
      const level = Number.isFinite(value) && value > 0 ? Math.round((value / top) * (BLOCKS.length - 1)) : 0;
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, level))];
    })
    .join('');
}
