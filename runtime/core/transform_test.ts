import assert from "node:assert/strict";
import { parseResults, sourceItems, type Transform, transformItems } from "./transform.ts";

const money = { base: "EUR", rates: {} };
const at = "2026-05-01T10:00:00Z";

/** A transform made of a plain function: it refuses items without `user`, drops `skip`, splits `pair`. */
const fake: Transform = {
  name: "fake",
  run: (items) =>
    Promise.resolve(items.map((raw) => {
      const item = raw as { id: string; user?: string; skip?: boolean; pair?: boolean };
      if (item.skip) return { ok: true, events: [] };
      if (!item.user) return { ok: false, error: "no user" };
      const event = (id: string) => ({ event_id: id, type: "page_view", user_id: item.user, timestamp: at });
      return {
        ok: true,
        events: item.pair ? [event(`${item.id}-a`), { ...event(`${item.id}-b`), type: "Bad" }] : [event(item.id)],
      };
    })),
};

Deno.test("transformItems() validates what a transform makes, naming the item each rejection and dead letter comes from", async () => {
  const items = [{ id: "a", user: "u" }, { id: "b" }, { id: "c", skip: true }, { id: "d", user: "u", pair: true }];
  const out = await transformItems(fake, items, money, (index) => ({ source: "s", index }));
  assert.deepEqual(out.valid.map((e) => e.event_id), ["a", "d-a"]);
  assert.equal(out.dropped, 1);
  assert.deepEqual(out.rejected, [
    { index: 1, error: "transform fake: no user" },
    { index: 3, error: "type: must match [a-z][a-z0-9_.]{0,63}" },
  ]);
  assert.deepEqual(out.letters.map((l) => [l.stage, l.reason, l.payload]), [
    ["transform:fake", "no user", { source: "s", index: 1, item: { id: "b" } }],
    [
      "ingest",
      "type: must match [a-z][a-z0-9_.]{0,63}",
      { source: "s", index: 3, transform: "fake", item: { event_id: "d-b", type: "Bad", user_id: "u", timestamp: at } },
    ],
  ]);
});

Deno.test("transformItems() refuses the items past the request's 10,000 events, and sourceItems() keeps a body whole", async () => {
  const hundred: Transform = {
    name: "hundred",
    run: (items) =>
      Promise.resolve(items.map((_, i) => ({
        ok: true,
        events: Array.from({ length: 100 }, (_, k) => ({
          event_id: `${i}-${k}`,
          type: "page_view",
          user_id: "u",
          timestamp: at,
        })),
      }))),
  };
  const out = await transformItems(hundred, new Array(102).fill({}), money);
  assert.equal(out.valid.length, 10_000);
  assert.deepEqual(out.rejected.map((r) => r.index), [100, 101]);
  assert.equal(
    out.rejected[0].error,
    "transform hundred: the request's items made over 10000 events: send fewer at once",
  );
  assert.deepEqual(sourceItems({ events: [1, 2] }), [{ events: [1, 2] }]); // a webhook's object is one item
  assert.deepEqual(sourceItems([{ a: 1 }, { b: 2 }]), [{ a: 1 }, { b: 2 }]);
  assert.throws(() => sourceItems(new Array(1001).fill(0)), /at most 1000 items, got 1001/);
});

Deno.test("parseResults() takes a sandbox's answer only as one result per item, and caps the events per item", () => {
  assert.deepEqual(parseResults([{ ok: true, events: [1] }, { ok: false, error: "x" }], 2), [
    { ok: true, events: [1] },
    { ok: false, error: "x" },
  ]);
  assert.deepEqual(parseResults([{ ok: true, events: new Array(101).fill(0) }], 1), [
    { ok: false, error: "made 101 events of one item, over 100" },
  ]);
  for (const nonsense of [null, {}, [{ ok: true }], [{ ok: false, error: 1 }], [null], [{ ok: true, events: [] }, 1]]) {
    assert.equal(parseResults(nonsense, 1), null, JSON.stringify(nonsense));
  }
});
