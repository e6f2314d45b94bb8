import assert from "node:assert/strict";
import type { Env } from "@runtime/sdk";
import { testEachBackend, testPlugin } from "@runtime/testing";
import type { Definition } from "./definitions.ts";
import { entrants } from "./report.ts";

/** An event of `user` at `minute` after 10:00 on May 1st 2026. */
const ev = (id: string, user: string, type: string, minute: number) => ({
  event_id: id,
  user_id: user,
  type,
  timestamp: new Date(Date.parse("2026-05-01T10:00:00Z") + minute * 60_000).toISOString(),
  properties: type === "purchase" ? { amount: 10 } : {},
});

testEachBackend(
  "entrants() reads a funnel's entrants a page at a time: each once, in id order, the same at any page size",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    const view = (u: string, m: number) => ev(`${u}-v${m}`, u, "product_view", m);
    const cart = (u: string, m: number) => ev(`${u}-c${m}`, u, "add_to_cart", m);
    const buy = (u: string, m: number) => ev(`${u}-p${m}`, u, "purchase", m);
    await h.send([
      view("u1", 0),
      cart("u1", 1),
      buy("u1", 2),
      view("u2", 5),
      view("u3", 3),
      cart("u3", 4),
      view("u4", 10),
      buy("u4", 11), // a purchase without a cart: step 3 needs step 2 first
      cart("u5", 0), // a cart without a view: never enters
      view("u6", -30), // entered before the range only
      cart("u6", 1),
      view("u7", 50),
      cart("u7", 51),
      buy("u7", 52),
      ev("u8-s", "u8", "search", 1),
    ]);
    const db = { query: (text: string, params?: unknown[]) => h.sql(text, params) } as unknown as Env["db"];
    const d: Definition = {
      name: "buy",
      steps: ["product_view", "add_to_cart", "purchase"].map((type) => ({ type, where: {} })),
      order: "sequential",
      window_seconds: 3600,
    };
    const q = { from: "2026-05-01T10:00:00Z", to: "2026-05-01T11:00:00Z", breakdown: null, conditions: [] };
    const read = async (pageUsers: number) => {
      const seen: [string, number][] = [];
      for await (const u of entrants(db, d, q, null, pageUsers)) seen.push([u.user_id, u.times.length]);
      return seen;
    };
    const expected = [["u1", 3], ["u2", 1], ["u3", 2], ["u4", 1], ["u7", 3]];
    for (const size of [1, 2, 3, 2000]) assert.deepEqual(await read(size), expected, `pages of ${size}`);
  },
);

testEachBackend(
  "a report over a range where more than maxScanEvents events may enter the funnel is a 400; a shorter range is not",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend, settings: { maxScanEvents: 4 } });
    // Five product views in the hour from 10:00, four of them before 10:20; carts do not enter a funnel that starts
    // with a view.
    await h.send([0, 3, 5, 10, 50].map((m) => ev(`v${m}`, `u${m}`, "product_view", m)));
    await h.send([1, 2, 4, 6, 7, 8].map((m) => ev(`c${m}`, `u${m}`, "add_to_cart", m)));
    const funnel = { name: "buy", steps: ["product_view", "add_to_cart"] };
    assert.equal((await h.post("/definitions", funnel)).status, 201);
    const hour = "from=2026-05-01T10:00:00Z&to=2026-05-01T11:00:00Z";
    const early = "from=2026-05-01T10:00:00Z&to=2026-05-01T10:20:00Z";
    const asks = [
      (range: string) => h.get(`/definitions/buy/report?${range}`),
      (range: string) => h.get(`/definitions/buy/users?step=2&${range}`),
      (range: string) => h.post(`/report?${range}`, funnel),
    ];
    for (const ask of asks) {
      const refused = await ask(hour);
      assert.equal(refused.status, 400);
      assert.match(
        refused.body.error,
        /more than 4 product_view events fall in this range \(PLUGIN_FUNNEL maxScanEvents\)/,
      );
      assert.equal((await ask(early)).status, 200);
    }
    assert.equal((await h.get(`/definitions/buy/report?${early}`)).body.users, 4);
    // A funnel in any order may be entered by any of its steps: the carts count too.
    const any = { ...funnel, name: "any", order: "any" };
    assert.equal((await h.post(`/report?${early}`, any)).status, 400);
  },
);
