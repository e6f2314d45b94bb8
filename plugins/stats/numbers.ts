/** How stats rounds what it answers. */

/** `x` rounded to `digits` decimals. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a / b` to 4 decimals; 0 when `b` is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : round(a / b, 4);
}
