import assert from "node:assert/strict";
import { createLogger } from "../observability/logger.ts";
import { migrateHost, openPglite } from "../store/mod.ts";
import { NoticeFeed } from "./feed.ts";
import { storeNotices } from "./outbox.ts";

Deno.test("NoticeFeed: a subscription gets the notices committed after it started, in order, to each subscriber", async () => {
  const store = await openPglite("memory://");
  await migrateHost(store);
  const feed = new NoticeFeed(store, createLogger("error"));
  const commit = (plugin: string, ...ns: number[]) =>
    store.transaction((tx) => storeNotices(tx, plugin, ns.map((n) => ({ channel: "c", payload: { n } }))));
  try {
    await commit("early", 0);
    const first = await feed.subscribe();
    await commit("a", 1, 2);
    const second = await feed.subscribe();
    await commit("b", 3);
    feed.wake(); // as the runner does after a commit: read at once rather than at the next poll
    const got: number[] = [];
    const started = performance.now();
    while (got.length < 3) {
      await first.wait(5000);
      got.push(...first.take().map((n) => n.payload.n as number));
    }
    assert.ok(performance.now() - started < 1000, "woken, not waiting out the 5 s");
    assert.deepEqual(got, [1, 2, 3]); // not the one before it started
    await second.wait(5000);
    const [three] = second.take();
    assert.deepEqual({ ...three, created_at: typeof three.created_at }, {
      id: 4,
      plugin: "b",
      channel: "c",
      payload: { n: 3 },
      created_at: "string",
    });
    first.close();
    second.close();
  } finally {
    await feed.stop();
    await store.close();
  }
});
