/**
 * Waits the host's loops take between rounds: one that can be cut short from outside (a loop woken when there is work),
 * and one that ends early when its signal aborts (a loop stopping).
 */

/** A wait that {@linkcode Nap.wake} cuts short; at most one at a time. */
export class Nap {
  #wake: (() => void) | null = null;

  /** Waits `ms`, or less when woken. */
  for(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => this.#wake = null);
  }

  /** Ends the wait under way, if any. */
  wake(): void {
    this.#wake?.();
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
