import assert from "node:assert/strict";
import { Nap, sleep } from "./nap.ts";

/** Resolves with how long `wait` took (ms), or "late" once `limitMs` passed without it. */
async function took(wait: Promise<void>, limitMs: number): Promise<number | "late"> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), limitMs));
  try {
    const outcome = await Promise.race([wait.then(() => performance.now() - started), late]);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("sleep() ends when its signal aborts, and does not start when it has aborted already", async () => {
  const stopping = new AbortController();
  const cut = sleep(60_000, stopping.signal);
  stopping.abort();
  assert.notEqual(await took(cut, 1000), "late");
  // A loop that checks its signal, then awaits work during which it aborts, then sleeps: it must not wait the full
  // period (a runtime's stop would hang for it).
  assert.notEqual(await took(sleep(60_000, stopping.signal), 1000), "late");
});

Deno.test("sleep() waits its time when its signal stays quiet", async () => {
  const quiet = new AbortController();
  assert.equal(await took(sleep(60_000, quiet.signal), 50), "late");
  const short = await took(sleep(20, quiet.signal), 5000);
  assert.ok(short !== "late" && short >= 15, `${short}`);
});

Deno.test("Nap.for() ends early when woken, and waits its time otherwise", async () => {
  const nap = new Nap();
  const long = nap.for(60_000);
  nap.wake();
  assert.notEqual(await took(long, 1000), "late");
  const unwoken = nap.for(60_000);
  assert.equal(await took(unwoken, 50), "late");
  nap.wake();
  await unwoken;
});

Deno.test("Nap.wake() with no wait under way cuts the next wait short, once", async () => {
  const nap = new Nap();
  nap.wake();
  nap.wake();
  assert.notEqual(await took(nap.for(60_000), 1000), "late");
  const after = nap.for(60_000);
  assert.equal(await took(after, 50), "late");
  nap.wake();
  await after;
});
