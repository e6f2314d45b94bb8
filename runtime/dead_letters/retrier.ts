/**
 * The dead letters' retrier: the one way letters are replayed, by an operator (`POST /api/dead-letters/replay`) or by
 * its loop, which retries each letter of ingest or of a transform that is due (`lifecycle.ts`) until it is resolved or
 * dead. Such letters fail again until their cause is fixed (a currency's rate configured, a transform deployed), and
 * then the next retry takes them without anyone replaying them.
 * @module
 */
import type { z } from "zod";
import { sleep } from "../core/nap.ts";
import type { Logger } from "../observability/logger.ts";
import { claimDue, type RetryPolicy } from "./lifecycle.ts";
import { replay, type ReplayParts, type ReplayRequest, type ReplayResult } from "./replay.ts";

/** The most letters one pass of the loop retries. */
const RETRY_BATCH = 100;

/** The longest the loop sleeps between passes (ms). */
const MAX_TICK_MS = 30_000;

/** Replays dead letters, and retries those due, started and stopped with the runtime. */
export class DeadLetterRetrier {
  readonly #parts: ReplayParts;
  readonly #logger: Logger;
  /** How letters are retried. */
  readonly policy: RetryPolicy;
  readonly #stopping = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(opts: { parts: ReplayParts; logger: Logger; policy: RetryPolicy }) {
    this.#parts = opts.parts;
    this.#logger = opts.logger.with({ component: "dead-letters" });
    this.policy = opts.policy;
  }

  /** Replays the letters `request` names; each one that fails again counts a retry. */
  replay(request: z.infer<typeof ReplayRequest>): Promise<ReplayResult> {
    return replay(this.#parts, request, this.policy);
  }

  /** Retries the letters due, in passes of at most {@linkcode RETRY_BATCH}, until none is; answers what it did. */
  async retryDue(signal?: AbortSignal): Promise<{ retried: number; resolved: number }> {
    let retried = 0;
    let resolved = 0;
    while (!signal?.aborted) {
      const ids = await claimDue(this.#parts.store, this.policy, RETRY_BATCH);
      if (ids.length === 0) break;
      const result = await this.replay({ ids, after: 0, limit: ids.length });
      retried += ids.length;
      resolved += result.replayed + result.skipped.length;
      this.#parts.metrics.inc("dead_letters_retried_total", "Dead letters retried automatically", {}, ids.length);
      if (ids.length < RETRY_BATCH) break;
    }
    return { retried, resolved };
  }

  /** Retries what is due now and then every tick until {@linkcode stop}; not at all when the policy allows none. */
  start(): void {
    this.#parts.metrics.inc("dead_letters_retried_total", "Dead letters retried automatically", {}, 0);
    if (this.policy.retries > 0) this.#loop ??= this.#run();
  }

  /** Stops the loop, after the pass under way. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    const tick = Math.min(this.policy.baseMs, MAX_TICK_MS);
    while (!signal.aborted) {
      try {
        const { retried, resolved } = await this.retryDue(signal);
        if (retried > 0) this.#logger.info("dead letters retried", { retried, resolved });
      } catch (e) {
        if (!signal.aborted) this.#logger.warn("cannot retry dead letters", { error: (e as Error).message });
      }
      await sleep(tick, signal);
    }
  }
}
