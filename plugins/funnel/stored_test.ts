import assert from "node:assert/strict";
import type { Event } from "@runtime/sdk";
import { pluginDatabase, rng } from "@runtime/testing";
import funnel from "./mod.ts";
import { Config } from "./report.ts";
import { cartValue, sortLikeSql, type Stored } from "./stored.ts";

/** A stored page view of user `u` at `ts`, with its position in the log (none for rows from before positions). */
const stored = (event_id: string, ts: number, position: number | null = null): Stored => ({
  event_id,
  user_id: "u",
  session_id: null,
  ts,
  position,
  type: "page_view",
  value: 0,
  country: null,
  device: null,
});

Deno.test("cartValue() multiplies as numeric and rounds once, as SQL's ::float8 does", async () => {
  const random = rng(11);
  const cases: [number, number][] = [[0.1, 3], [19.99, 7], [1e-7, 3], [123456.789, 999_999], [0, 5], [2.675, 1]];
  for (let i = 0; i < 200; i++) cases.push([Math.round(random() * 1e7) / 1e3, 1 + Math.floor(random() * 1000)]);
  for (let i = 0; i < 50; i++) cases.push([random() * 1000, 1 + Math.floor(random() * 10)]);
  assert.equal(cartValue(0.1, 3), 0.3); // 0.30000000000000004 in float arithmetic
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const [{ values }] = await db.query<{ values: number[] }>(
    "select array_agg((p * q)::float8 order by i) as values from unnest($1::numeric[], $2::numeric[]) with ordinality as c(p, q, i)",
    [cases.map(([p]) => p), cases.map(([, q]) => q)],
  );
  assert.deepEqual(cases.map(([p, q]) => cartValue(p, q)), values);
});

Deno.test("sortLikeSql() orders by time, then event_id as the database collates it, for events without positions", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const ids = ["b", "B", "a-1", "a1", "_", "é", "Z", "a"];
  const group = [...ids.map((id) => stored(id, 1000)), stored("zz", 999), stored("0", 1001)];
  await sortLikeSql(db.env.db, [group]);
  const [{ sorted }] = await db.query<{ sorted: string[] }>(
    "select array_agg(id order by id) as sorted from unnest($1::text[]) as id",
    [ids],
  );
  assert.deepEqual(group.map((e) => e.event_id), ["zz", ...sorted, "0"]);
});

Deno.test("sortLikeSql() orders events of equal time by their position in the log, those without one last", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const group = [
    stored("a", 1000, 9),
    stored("z", 1000, 3),
    stored("m", 1000, null),
    stored("b", 1000, 5),
    stored("y", 999, 10),
  ];
  await sortLikeSql(db.env.db, [group]);
  assert.deepEqual(group.map((e) => e.event_id), ["y", "z", "b", "a", "m"]);
});

Deno.test("a session's steps follow arrival when events share a time, in one batch or across batches", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const at = "2026-03-01T10:00:00.000Z";
  const e = (event_id: string, type: string, position: number): Event => ({
    event_id,
    type,
    user_id: "u1",
    session_id: "s1",
    timestamp: at,
    properties: type === "add_to_cart" ? { price: 0.1, quantity: 3 } : {},
    position,
  });
  // Random ids, as SDKs make them, against arrival: the ids alone would put the purchase first.
  const batches = [[e("f3", "page_view", 1)], [e("c9", "add_to_cart", 2), e("b4", "checkout", 3)], [
    e("a0", "purchase", 4),
  ]];
  for (const batch of batches) {
    await db.exec("begin");
    await funnel.queue!(batch, { ...db.env, config: Config.parse({}) });
    await db.exec("commit");
  }
  const [s] = await db.query<{ reached: number; events: number }>("select reached, events from funnel.sessions");
  assert.deepEqual(s, { reached: 4, events: 4 });
});

Deno.test("a session's steps follow (time, event_id) when events share a time across batches", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const at = "2026-03-01T10:00:00.000Z";
  const e = (event_id: string, type: string): Event => ({
    event_id,
    type,
    user_id: "u1",
    session_id: "s1",
    timestamp: at,
    properties: type === "add_to_cart" ? { price: 0.1, quantity: 3 } : {},
  });
  // The view comes first, but the add_to_cart at the same instant sorts before it: no step 2.
  for (const batch of [[e("e2", "page_view")], [e("e1", "add_to_cart")]]) {
    await db.exec("begin");
    await funnel.queue!(batch, { ...db.env, config: Config.parse({}) });
    await db.exec("commit");
  }
  const [s] = await db.query<{ reached: number; events: number; cart_value: number }>(
    "select reached, events, cart_value from funnel.sessions",
  );
  assert.deepEqual(s, { reached: 1, events: 2, cart_value: 0.3 });
});
