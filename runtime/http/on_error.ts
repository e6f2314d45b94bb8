/**
 * The host's `onError`: an error that carries its status is answered with it; a request that failed because the
 * database is down (or restarting) is a 503 to retry; anything else is a fault of ours, logged, and a 500.
 * @module
 */
import type { Context, ErrorHandler } from "hono";
import type { Logger } from "../observability/logger.ts";
import { isConnectionLost, type Store } from "../store/mod.ts";
import { statusAnswer } from "./errors.ts";

/** The handler, for an app over `store` that logs to `logger`. */
export function hostErrorHandler(store: Store, logger: Logger): ErrorHandler {
  /** While the database is down a request fails through no fault of its own: 503, retry later. */
  const databaseDown = (c: Context, err: Error) => {
    logger.warn("request failed: the database is unavailable", { path: c.req.path, error: err.message });
    c.header("retry-after", "1");
    return c.json({ error: `the database is unavailable, retry shortly: ${err.message}` }, 503);
  };
  return async (err, c) => {
    const answer = statusAnswer(err, c);
    if (answer) return answer;
    if (isConnectionLost(err) || !await storeAnswers(store)) return databaseDown(c, err);
    logger.error("request failed", { path: c.req.path, error: err.message, stack: err.stack });
    return c.json({ error: "internal error" }, 500);
  };
}

/** Whether the store answers a trivial query within `timeoutMs`. */
export async function storeAnswers(store: Store, timeoutMs = 2000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs));
  try {
    return await Promise.race([store.query("select 1").then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
