/**
 * Waits the host's loops take between rounds: one that can be cut short from outside (a loop woken when there is work),
 * and one that ends early when its signal aborts (a loop stopping).
 */

/**
 * A wait that {@linkcode Nap.wake} cuts short; at most one at a time. A wake while no wait is under way is kept for the
 * next one, which then does not wait: work that came while the loop was busy is not left for a whole period.
 */
export class Nap {
  #wake: (() => void) | null = null;
  #woken = false;

  /** Waits `ms`, or less when woken; not at all when woken since the last wait. */
  for(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Ends the wait under way, or the next one before it starts. */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#woken = true;
  }
}

/** Waits `ms`, or less when `signal` aborts; not at all when it has aborted already. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
