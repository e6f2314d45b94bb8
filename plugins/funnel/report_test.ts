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
  "entrants() lists and reads a funnel's entrants a part at a time: each once, in id order, whatever the sizes",
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
    const lists: number[] = []; // the size of each list of entrants read
    const db = {
      query: async (text: string, params?: unknown[]) => {
        const rows = await h.sql(text, params);
        if (text.includes("select distinct user_id")) lists.push(rows.length);
        return rows;
      },
    } as unknown as Env["db"];
    const d: Definition = {
      name: "buy",
      steps: ["product_view", "add_to_cart", "purchase"].map((type) => ({ type, where: {} })),
      order: "sequential",
      window_seconds: 3600,
    };
    const q = { from: "2026-05-01T10:00:00Z", to: "2026-05-01T11:00:00Z", breakdown: null, conditions: [] };
    const read = async (pageUsers: number, listUsers: number) => {
      const seen: [string, number][] = [];
      for await (const u of entrants(db, d, q, null, { pageUsers, listUsers })) seen.push([u.user_id, u.times.length]);
      return seen;
    };
    const expected = [["u1", 3], ["u2", 1], ["u3", 2], ["u4", 1], ["u7", 3]];
    for (const [page, list] of [[1, 1], [2, 3], [3, 2], [2, 5], [2000, 50_000]]) {
      lists.length = 0;
      assert.deepEqual(await read(page, list), expected, `pages of ${page}, lists of ${list}`);
      // Lists of at most `list` ids, until one comes short.
      assert.deepEqual(lists, [...Array(Math.floor(5 / list)).fill(list), 5 % list], `lists of ${list}`);
    }
  },
);

testEachBackend(
  "a report that would read more than maxScanEvents events of its steps is a 400; a shorter range is not",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend, settings: { maxScanEvents: 6 } });
    // Views at 10:00, :03, :05, :40 and :50, carts at :01, :04 and :45, searches at :02 and :06.
    await h.send([0, 3, 5, 40, 50].map((m) => ev(`v${m}`, `u${m % 10}`, "product_view", m)));
    await h.send([1, 4, 45].map((m) => ev(`c${m}`, `u${m % 10}`, "add_to_cart", m)));
    await h.send([2, 6].map((m) => ev(`s${m}`, "u9", "search", m)));
    const funnel = { name: "buy", steps: ["product_view", "add_to_cart"], window_seconds: 600 };
    assert.equal((await h.post("/definitions", funnel)).status, 201);
    // From 10:00 to 11:00 plus 10 minutes: 8 views and carts. To 10:20 plus 10 minutes: 5.
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
        /more than 6 product_view, add_to_cart events fall there \(PLUGIN_FUNNEL maxScanEvents\)/,
      );
      assert.equal((await ask(early)).status, 200);
    }
    assert.equal((await h.get(`/definitions/buy/report?${early}`)).body.users, 3);
    // Without a range, all 8; without a start, from the first event: the 5 to 10:30.
    assert.equal((await h.get("/definitions/buy/report")).status, 400);
    assert.equal((await h.get("/definitions/buy/report?to=2026-05-01T10:20:00Z")).status, 200);
    // In strict order every event between two steps counts: the searches too, 7 to 10:30.
    const strict = await h.post(`/report?${early}`, { ...funnel, name: "strict", order: "strict" });
    assert.equal(strict.status, 400);
    assert.match(strict.body.error, /more than 6 events fall there/);
  },
);
