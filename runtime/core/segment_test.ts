import assert from "node:assert/strict";
import type { Runtime } from "../runtime.ts";
import { segmentToEvent, snakeCase } from "./segment.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const at = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, "0")}:00.000Z`;

/** A batch as analytics.js / analytics-node send it, per Segment's public HTTP tracking API spec. */
const segmentBatch = {
  batch: [
    {
      type: "track",
      messageId: "m1",
      userId: "u1",
      anonymousId: "a1",
      event: "Order Completed",
      timestamp: at(0),
      properties: {
        order_id: "o1",
        revenue: 25,
        currency: "eur",
        products: [
          { product_id: "p1", sku: "S1", name: "Mug", price: 10, quantity: 2 },
          { sku: "S2", price: 5 },
        ],
      },
      context: { location: { country: "de" }, device: { type: "mobile" } },
    },
    {
      type: "page",
      messageId: "m2",
      anonymousId: "a1",
      name: "Home",
      properties: { path: "/", url: "https://shop.example/", title: "Shop" },
      originalTimestamp: at(1),
    },
    { type: "identify", messageId: "m3", userId: "u1", traits: { email: "ada@example.com", plan: "pro" } },
    {
      type: "track",
      messageId: "m4",
      userId: "u1",
      event: "Product Viewed",
      properties: { sku: "S9", name: "Cup", price: 19.5, category: "mugs" },
      timestamp: at(3),
      context: { location: { country: "Germany" } },
    },
    {
      type: "track",
      messageId: "m5",
      userId: "u1",
      event: "Coupon Applied",
      properties: { coupon: "X" },
      timestamp: at(4),
    },
  ],
  context: { library: { name: "analytics-node" }, locale: "de-DE", device: { type: "desktop" } },
  sentAt: at(2),
};

/** The same events in the native form of `POST /v1/events`. */
const nativeEvents = [
  {
    event_id: "m1",
    type: "purchase",
    user_id: "u1",
    timestamp: at(0),
    properties: {
      order_id: "o1",
      revenue: 25,
      amount: 25,
      currency: "EUR",
      items: [
        { product_id: "p1", sku: "S1", name: "Mug", price: 10, quantity: 2 },
        { product_id: "S2", sku: "S2", price: 5, quantity: 1 },
      ],
      country: "DE",
      device: "mobile",
      anonymous_id: "a1",
    },
  },
  {
    event_id: "m2",
    type: "page_view",
    user_id: "a1",
    timestamp: at(1),
    properties: { path: "/", url: "https://shop.example/", title: "Shop", page: "/", name: "Home", device: "desktop" },
  },
  {
    event_id: "m3",
    type: "identify",
    user_id: "u1",
    timestamp: at(2),
    properties: { traits: { email: "ada@example.com", plan: "pro" }, device: "desktop" },
  },
  {
    event_id: "m4",
    type: "product_view",
    user_id: "u1",
    timestamp: at(3),
    properties: { product_id: "S9", sku: "S9", name: "Cup", price: 19.5, category: "mugs", device: "desktop" },
  },
  {
    event_id: "m5",
    type: "coupon_applied",
    user_id: "u1",
    timestamp: at(4),
    properties: { coupon: "X", device: "desktop" },
  },
];

/** Single calls (`/v1/track`, ...) carry no `type`: the route gives it. */
const singleCalls: [string, Json][] = [
  ["/v1/track", { messageId: "m6", userId: "u2", event: "Signed Up", timestamp: at(5) }],
  ["/v1/page", { messageId: "m7", userId: "u2", context: { page: { path: "/pricing" } }, timestamp: at(6) }],
  ["/v1/identify", { messageId: "m8", anonymousId: "a2", traits: { plan: "free" }, timestamp: at(7) }],
  ["/v1/screen", { messageId: "m9", userId: "u2", name: "Cart", timestamp: at(8) }],
];
const nativeSingles = [
  { event_id: "m6", type: "signup", user_id: "u2", timestamp: at(5), properties: {} },
  { event_id: "m7", type: "page_view", user_id: "u2", timestamp: at(6), properties: { page: "/pricing" } },
  { event_id: "m8", type: "identify", user_id: "a2", timestamp: at(7), properties: { traits: { plan: "free" } } },
  { event_id: "m9", type: "screen_view", user_id: "u2", timestamp: at(8), properties: { name: "Cart" } },
];

async function logged(rt: Runtime): Promise<Json[]> {
  const rows = await rt.store.query<{ json: string }>("select body::text as json from host.events order by position");
  return rows.map((r) => JSON.parse(r.json));
}

const withCounter = async (opts: Json, fn: (rt: Runtime) => Promise<void>) =>
  withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([{ name: "counter" }]), ...opts }, fn);

const runtimeTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

Deno.test("snakeCase() turns Segment event names into our type spelling", () => {
  assert.equal(snakeCase("Order Completed"), "order_completed");
  assert.equal(snakeCase("orderCompleted"), "order_completed");
  assert.equal(snakeCase(" Newsletter-Signup! "), "newsletter_signup");
  assert.equal(snakeCase("checkout.step 2"), "checkout.step_2");
});

Deno.test("segmentToEvent() maps the spec's names and says why it cannot map a message", () => {
  const names = {
    "Product Added": "add_to_cart",
    "Product Removed": "remove_from_cart",
    "Checkout Started": "checkout",
    "Products Searched": "search",
    "Signed In": "login",
    "Signed Out": "logout",
    "Video Playback Started": "video_play",
    "Video Content Playing": "video_progress",
    "Video Playback Completed": "video_complete",
  };
  for (const [event, type] of Object.entries(names)) {
    const m = segmentToEvent({ type: "track", messageId: "x", userId: "u", event }, at(0));
    assert.deepEqual(m.ok && m.item.type, type, event);
  }
  const video = segmentToEvent({
    type: "track",
    messageId: "v",
    userId: 7,
    event: "Video Content Playing",
    properties: { content_asset_id: "c1", position: 30, total_length: 600 },
  }, at(9));
  assert.deepEqual(video, {
    ok: true,
    item: {
      event_id: "v",
      type: "video_progress",
      user_id: "7",
      timestamp: at(9),
      properties: {
        content_asset_id: "c1",
        position: 30,
        total_length: 600,
        video_id: "c1",
        position_s: 30,
        duration_s: 600,
      },
    },
  });
  const group = segmentToEvent(
    { type: "group", messageId: "g", userId: "u", groupId: "acme", traits: { seats: 5 } },
    at(0),
  );
  assert.deepEqual(group.ok && group.item.properties, { group_id: "acme", traits: { seats: 5 } });
  const alias = segmentToEvent({ type: "alias", messageId: "al", userId: "u", previousId: "a9" }, at(0));
  assert.deepEqual(alias.ok && [alias.item.type, alias.item.properties], ["alias", { previous_id: "a9" }]);
  const errors = [
    [{ type: "track", userId: "u", event: "E" }, "messageId: is required (events are de-duplicated by it)"],
    [{ type: "track", messageId: "x", event: "E" }, "userId or anonymousId is required"],
    [{ type: "track", messageId: "x", userId: "u" }, "event: a track message needs the event's name"],
    [
      { type: "track", messageId: "x", userId: "u", event: "!!!" },
      "event: '!!!' does not make a type matching [a-z][a-z0-9_.]{0,63}",
    ],
    [
      { type: "track", messageId: "x", userId: "u", event: "2 Days" },
      "event: '2 Days' does not make a type matching [a-z][a-z0-9_.]{0,63}",
    ],
    [
      { type: "merge", messageId: "x", userId: "u" },
      'type: must be one of track, page, screen, identify, group, alias, got "merge"',
    ],
    [{ type: "page", messageId: "x", userId: "u", properties: [] }, "properties: must be an object"],
    ["hello", "message must be a JSON object"],
  ] as const;
  for (const [message, error] of errors) assert.deepEqual(segmentToEvent(message, at(0)), { ok: false, error });
});

runtimeTest("Segment batches and single calls land as the same events as their native equivalents", async () => {
  let native: Json[] = [];
  await withCounter({}, async (rt) => {
    assert.deepEqual((await postJson(rt, "/v1/events", [...nativeEvents, ...nativeSingles])).body, {
      accepted: 9,
      rejected: [],
    });
    native = await logged(rt);
  });
  await withCounter({}, async (rt) => {
    const batch = await postJson(rt, "/v1/batch", segmentBatch);
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body, { success: true, accepted: 5, rejected: [] });
    for (const [path, message] of singleCalls) {
      assert.deepEqual((await postJson(rt, path, message)).body, { success: true, accepted: 1, rejected: [] }, path);
    }
    assert.deepEqual(await logged(rt), native);
    // Nine events, and the merge of a1 into u1 after m1, the first message that carried both ids.
    assert.deepEqual(native.map((e) => e.event_id), [
      "m1",
      "$merge@2",
      "m2",
      "m3",
      "m4",
      "m5",
      "m6",
      "m7",
      "m8",
      "m9",
    ]);
    assert.deepEqual([native[2].user_id, native[2].properties.original_user_id], ["u1", "a1"]);

    // Segment's SDKs retry with the same messageId: acknowledged again, counted once.
    assert.deepEqual((await postJson(rt, "/v1/batch", segmentBatch)).body, {
      success: true,
      accepted: 5,
      rejected: [],
    });
    assert.deepEqual((await postJson(rt, "/v1/track", singleCalls[0][1])).body.accepted, 1);
    assert.equal(rt.eventLog.head, 10);
    await waitForCatchUp(rt);
    assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, {
      purchase: 1,
      page_view: 2,
      identify: 2,
      product_view: 1,
      coupon_applied: 1,
      signup: 1,
      screen_view: 1,
    });
  });
});

runtimeTest("a malformed Segment message is rejected with its reason and dead-lettered, its batch kept", async () => {
  await withCounter({}, async (rt) => {
    const res = await postJson(rt, "/v1/batch", {
      batch: [
        { type: "track", messageId: "ok", userId: "u1", event: "Signed In", timestamp: at(0) },
        { type: "track", userId: "u1", event: "Signed In", timestamp: at(0) },
        { type: "track", messageId: "bad-time", userId: "u1", event: "Signed In", timestamp: "yesterday" },
        { type: "track", messageId: "no-total", userId: "u1", event: "Order Completed", timestamp: at(0) },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      success: true,
      accepted: 1,
      rejected: [
        { index: 1, error: "messageId: is required (events are de-duplicated by it)" },
        { index: 2, error: "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z" },
        { index: 3, error: "properties.amount: a purchase needs an amount (or items with price and quantity)" },
      ],
    });
    const letters = (await getJson(rt, "/api/dead-letters?limit=10")).body;
    assert.deepEqual(
      letters.items.map((l: Json) => [l.stage, l.reason, l.payload.event_id ?? l.payload.messageId ?? null]).sort(),
      [
        ["ingest", "messageId: is required (events are de-duplicated by it)", null],
        ["ingest", "properties.amount: a purchase needs an amount (or items with price and quantity)", "no-total"],
        ["ingest", "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z", "bad-time"],
      ],
    );
    assert.equal(rt.eventLog.head, 1);

    const notJson = await postJson(rt, "/v1/batch", "{not json");
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error, /^body is not valid JSON/);
    assert.deepEqual((await postJson(rt, "/v1/batch", { batch: {} })).body, {
      error: "batch must be an array of messages",
    });
    assert.equal((await postJson(rt, "/v1/track", [])).status, 400);
    const tooMany = await postJson(rt, "/v1/batch", { batch: Array.from({ length: 1001 }, () => ({})) });
    assert.deepEqual([tooMany.status, tooMany.body.error], [413, "a batch holds at most 1000 messages, got 1001"]);
  });
});

runtimeTest("with INGEST_KEYS set, Segment's basic auth with a write key is accepted on /v1", async () => {
  await withCounter({ ingestKeys: ["w1"], apiTokens: ["r1"] }, async (rt) => {
    const basic = (user: string) => `Basic ${btoa(`${user}:`)}`;
    let n = 0;
    const post = (authorization?: string) =>
      rt.app.request("/v1/track", {
        method: "POST",
        body: JSON.stringify({ messageId: `k${n++}`, userId: "u1", event: "Signed In", timestamp: at(0) }),
        headers: authorization ? { authorization } : {},
      });
    assert.equal((await post()).status, 401);
    assert.equal((await post(basic("nope"))).status, 401);
    assert.equal((await post("Basic !!!")).status, 401);
    assert.equal((await post(basic("r1"))).status, 403); // an API token cannot write
    const ok = await post(basic("w1"));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { success: true, accepted: 1, rejected: [] });
    assert.equal((await post("Bearer w1")).status, 200);
    assert.equal(rt.eventLog.head, 2);
    // Basic auth stays a /v1 thing: /api still wants its bearer token.
    const read = await rt.app.request("/api/plugins", { headers: { authorization: basic("r1") } });
    assert.equal(read.status, 401);
  });
});
