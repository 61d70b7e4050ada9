/**
 * kW to integer watts, rounding down. The 1 µW tolerance keeps 99.99999999999 kW (float noise
 * from availability sums) at 100 kW instead of losing a whole bid step.
 */
export const toW = (kw: number) => Math.floor(kw * 1000 + 1e-6);
export const toKw = (w: number) => w / 1000;

/**
 * Split `totalW` over sites in proportion to what each holds, largest remainder first, in whole
 * watts: no site gets more than it has, and the parts sum exactly to the total.
 */
export function proportional(totalW: number, available: Map<string, number>): [string, number][] {
  const entries = [...available].filter(([, w]) => w > 0);
  const sum = entries.reduce((a, [, w]) => a + w, 0);
  if (sum === 0) return [];
  const exact = entries.map(([id, w]) => [id, (totalW * w) / sum] as const);
  const out: [string, number][] = exact.map(([id, x]) => [id, Math.floor(x)]);
  let left = totalW - out.reduce((a, [, w]) => a + w, 0);
  const order = exact
    .map(([id, x], k) => ({ k, rem: x - Math.floor(x), id }))
    .sort((a, b) => b.rem - a.rem || a.id.localeCompare(b.id));
  for (const { k } of order) {
    if (left <= 0) break;
    out[k]![1] += 1;
    left -= 1;
  }
  return out;
}
