import assert from "node:assert/strict";
import { testEachBackend, testPlugin } from "@runtime/testing";

/** An event of `user` at `time` on March 2026 (`D HH:MM:SS`, UTC). */
const at = (id: string, type: string, user: string, time: string, properties: object = {}, session?: string) => ({
  event_id: id,
  type,
  user_id: user,
  ...(session ? { session_id: session } : {}),
  timestamp: `2026-03-0${time.replace(" ", "T")}Z`,
  properties,
});

/** `/products` over `query`, each product as `[id, views, adds, purchases, revenue]`. */
async function products(h: { get(path: string): Promise<{ body: { products: Record<string, unknown>[] } }> }, q = "") {
  const { body } = await h.get(`/products?sort=views${q}`);
  return body.products.map((p) => [p.product_id, p.views, p.adds_to_cart, p.purchases, p.revenue]);
}

testEachBackend(
  "GET /products and /videos over a range: whole days from the daily counts, the parts around them per minute or event",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    const line = { product_id: "p1", price: 19.99, quantity: 3 };
    await h.send([
      at("v0", "product_view", "u2", "1 08:00:00", { product_id: "p2" }),
      at("v1", "product_view", "u1", "1 23:59:30", { product_id: "p1", category: "shoes" }),
      at("c1", "add_to_cart", "u1", "2 00:00:10", { product_id: "p1" }),
      at("v2", "product_view", "u2", "2 12:00:00", { product_id: "p1" }),
      at("b1", "purchase", "u1", "3 00:00:00", { amount: 59.97, currency: "EUR", items: [line, line] }),
      at("v3", "product_view", "u2", "3 00:00:59", { product_id: "p2" }),
      at("c3", "add_to_cart", "u2", "3 00:00:20", { product_id: "p3" }),
      at("w1", "video_play", "u1", "1 10:00:00", { video_id: "intro", position_s: 0, duration_s: 60 }, "s1"),
      at("w3", "video_play", "u2", "2 10:00:00", { video_id: "intro", position_s: 0, duration_s: 60 }, "s2"),
    ]);
    // A late event of u1's view: the view now began at 09:55, and still does after a later one.
    await h.send([at("w0", "video_progress", "u1", "1 09:55:00", { video_id: "intro", position_s: 5 }, "s1")]);
    await h.send([at("w2", "video_progress", "u1", "1 10:05:00", { video_id: "intro", position_s: 30 }, "s1")]);

    // All time, then a range of whole minutes around both midnights (23:59 on the 1st to 00:01 on the 3rd).
    assert.deepEqual(await products(h), [["p1", 2, 1, 1, 119.94], ["p2", 2, 0, 0, 0], ["p3", 0, 1, 0, 0]]);
    assert.deepEqual(await products(h, "&from=2026-03-01T23:59:45Z&to=2026-03-03T00:00:01Z"), [
      ["p1", 2, 1, 1, 119.94],
      ["p2", 1, 0, 0, 0],
      ["p3", 0, 1, 0, 0],
    ]);
    // The 2nd alone: one whole day. Up to it: the 1st's view. From 00:00:30 on the 3rd: its minute, from 00:00.
    assert.deepEqual(await products(h, "&from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z"), [["p1", 1, 1, 0, 0]]);
    assert.deepEqual(await products(h, "&to=2026-03-02T00:00:00Z"), [["p1", 1, 0, 0, 0], ["p2", 1, 0, 0, 0]]);
    assert.deepEqual(await products(h, "&from=2026-03-03T00:00:30Z"), [
      ["p2", 1, 0, 0, 0],
      ["p1", 0, 0, 1, 119.94],
      ["p3", 0, 1, 0, 0],
    ]);
    assert.deepEqual(await products(h, "&from=2026-03-01T23:59:31Z&to=2026-03-02T00:00:00Z"), [["p1", 1, 0, 0, 0]]);
    assert.deepEqual(await products(h, "&from=2026-03-04T00:00:00Z"), []);
    const ranged = (await h.get("/products?from=2026-03-02T00:00:00Z")).body;
    assert.equal(ranged.from, "2026-03-02T00:00:00.000Z");
    assert.equal(ranged.products[0].category, "shoes");

    // Videos: a view is where its first event is.
    const videos = async (q: string) =>
      (await h.get(`/videos?${q}`)).body.videos.map((v: Record<string, number>) => [v.video_id, v.plays, v.views]);
    assert.deepEqual(await videos(""), [["intro", 2, 2]]);
    assert.deepEqual((await h.get("/videos")).body.from, null);
    assert.deepEqual(await videos("from=2026-03-01T09:56:00Z"), [["intro", 1, 1]]);
    assert.deepEqual(await videos("from=2026-03-01T09:55:59Z&to=2026-03-02T00:00:00Z"), [["intro", 1, 1]]);
    assert.deepEqual(await videos("from=2026-03-03T00:00:00Z"), []);
    // A visitor's view moves to the person they sign in as, with its start.
    await h.send([at("w9", "video_play", "a9", "1 11:00:00", { video_id: "intro", duration_s: 60 }, "s9")]);
    await h.send([at("i9", "identify", "u9", "1 12:00:00", { anonymous_id: "a9" })]);
    assert.deepEqual(await videos("from=2026-03-01T10:30:00Z&to=2026-03-01T12:00:00Z"), [["intro", 1, 1]]);
    const [intro] = (await h.get("/videos?to=2026-03-01T10:30:00Z")).body.videos;
    assert.deepEqual(intro.drop_off[5], { from_pct: 50, to_pct: 60, views: 1 });

    // Views stored before first_at was kept (null here) stay out of ranges: after a later event of theirs, and merged
    // into a person's view of the same session that has a start.
    await h.send([at("w7", "video_play", "a7", "2 11:00:00", { video_id: "intro", duration_s: 60 }, "s7")]);
    await h.runtime.store.query("update stats.video_views set first_at = null where user_id in ('u2', 'a7')");
    await h.send([
      at("w3b", "video_progress", "u2", "2 10:30:00", { video_id: "intro", position_s: 20 }, "s2"),
      at("w8", "video_progress", "u7", "2 11:30:00", { video_id: "intro", position_s: 10 }, "s7"),
    ]);
    await h.send([at("i7", "identify", "u7", "2 12:00:00", { anonymous_id: "a7" })]);
    assert.deepEqual(await videos(""), [["intro", 4, 4]]);
    assert.deepEqual(await videos("from=2026-03-02T00:00:00Z"), []);

    // Trending lists the products viewed in its window: p3, only added to cart in it, is not one.
    assert.deepEqual(
      (await h.get("/products/trending")).body.products.map((p: { product_id: string }) => p.product_id),
      ["p2"],
    );
  },
);
