/** A unicode sparkline of a metric's history (`benchalign history`). */
const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of the values, min to max over eight levels; '·' for a missing value. */
export function sparkline(values: readonly (number | undefined)[]): string {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (xs.length === 0) return '';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return values
    .map((v) => {
      if (v === undefined || !Number.isFinite(v)) return '·';
      const i = hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1));
      return BARS[i] as string;
    })
    .join('');
}
