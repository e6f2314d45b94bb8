/**
 * Exact decimal sums in the sandbox. Amounts reach Postgres as the text of each JS number (`String(x)`) and
 * are summed there as `numeric`, exactly; summing those same decimals with BigInt here gives the very same
 * value, so a batch's revenue can be folded before it reaches SQL without a float rounding anywhere.
 */

/** A number's decimal text (or a decimal text itself) as an integer and a power of ten: `digits × 10^exponent`. */
function decimalOf(x: number | string): { digits: bigint; exponent: number } {
  const [mantissa, e = "0"] = String(x).split("e");
  const [whole, fraction = ""] = mantissa.split(".");
  return { digits: BigInt(whole + fraction), exponent: Number(e) - fraction.length };
}

/**
 * The exact sum of `xs` as their decimal texts read, as `numeric` input text ("0" for none). A string is such a text
 * already, as PostgreSQL writes a `numeric` (`12.50`, `-0.001`).
 */
export function decimalSum(xs: readonly (number | string)[]): string {
  const parts = xs.map(decimalOf);
  const scale = Math.max(0, ...parts.map((p) => -p.exponent));
  let sum = 0n;
  for (const p of parts) sum += p.digits * 10n ** BigInt(p.exponent + scale);
  const negative = sum < 0n;
  const text = (negative ? -sum : sum).toString().padStart(scale + 1, "0");
  const point = text.length - scale;
  return (negative ? "-" : "") + (scale === 0 ? text : `${text.slice(0, point)}.${text.slice(point)}`);
}
