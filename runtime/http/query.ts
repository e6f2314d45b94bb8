/**
 * Query parameters parsed by hand: an integer within bounds, an ISO-8601 time. Each refuses what it cannot take
 * with a 400 that says what was expected and what was got.
 * @module
 */
import { inYearRange, MAX_YEAR, MIN_YEAR } from "../core/event.ts";
import { HttpError } from "./errors.ts";

/** Parses an optional integer query parameter within `min..max`; `fallback` when absent; 400 otherwise. */
export function intParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new HttpError(400, `${name} must be an integer ${min}..${max}, got '${raw}'`);
  }
  return n;
}

/** Parses an optional ISO-8601 timestamp query parameter to UTC ISO; null when absent; 400 otherwise. */
export function timeParam(raw: string | undefined, name: string): string | null {
  if (raw === undefined || raw === "") return null;
  const t = Date.parse(raw);
  if (!inYearRange(t)) {
    throw new HttpError(
      400,
      `${name} must be an ISO-8601 timestamp within the years ${MIN_YEAR} to ${MAX_YEAR}, got '${raw}'`,
    );
  }
  return new Date(t).toISOString();
}
