/**
 * `POST /v1/sources/<plugin>` through a hostile transform: every attack is refused alone, into the dead letters, the
 * valid items of the same request are kept, and the host (and the transform, restarted) serve on.
 */
import assert from "node:assert/strict";
import { BACKENDS, FIXTURES, getJson, type Json, pluginsFolder, withRuntime } from "./support/harness.ts";

Deno.test({
  name: "a transform's attacks are refused item by item and dead-lettered; the rest of the request and the host live",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "rogue_source", from: FIXTURES }, { name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir, ingestKeys: ["wk"] }, async (rt) => {
      const post = (path: string, body: unknown, key = "wk") =>
        rt.app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify(body),
        });
      let reached = 0; // what the transform's fetch would hit, were it let out
      const listener = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
        reached++;
        return new Response("secret");
      });
      const url = `http://127.0.0.1:${listener.addr.port}/`;
      const attacks = ["spin", "memory", "file", "env", "network", "flood", "forge"];
      const items = [{ id: "ok-1" }, ...attacks.map((attack) => ({ id: attack, attack, url })), { id: "ok-2" }];
      const res = await post("/v1/sources/rogue_source", items);
      assert.equal(res.status, 200);
      const answer = await res.json();
      assert.equal(answer.accepted, 2);
      assert.equal(answer.dropped, 0);
      const refused = Object.fromEntries(answer.rejected.map((r: Json) => [items[r.index].id, r.error]));
      assert.deepEqual(Object.keys(refused), attacks);
      assert.match(refused.spin, /^transform rogue_source: transform exceeded the 1000 ms time limit/);
      assert.match(refused.memory, /^transform rogue_source: .*(memory|exited)/);
      for (const reach of ["file", "env", "network"]) {
        assert.match(refused[reach], /NotCapable|PermissionDenied|Requires/);
      }
      assert.equal(refused.flood, "transform rogue_source: made 101 events of one item, over 100");
      assert.match(refused.forge, /^event_id: must not start with '\$'/);

      const logged = await rt.store.query<{ event_id: string }>("select event_id from host.events order by position");
      assert.deepEqual(logged.map((r) => r.event_id), ["ok-1", "ok-2"]);
      const letters = (await getJson(rt, "/api/dead-letters?limit=100")).body.items;
      assert.deepEqual(
        letters.map((l: Json) => [l.stage, l.payload.item?.id ?? l.payload.item?.event_id]).sort(),
        [
          ["ingest", "$merge:forge"],
          ...attacks.filter((a) => a !== "forge").map((a) => [`transform:rogue_source`, a]),
        ].sort(),
      );
      for (const l of letters) assert.equal(l.payload.source, "rogue_source");

      // The host serves on, the transform too (in a new sandbox), and only with a write key.
      assert.equal((await getJson(rt, "/healthz")).status, 200);
      assert.deepEqual(await (await post("/v1/sources/rogue_source", { id: "ok-3" })).json(), {
        accepted: 1,
        rejected: [],
        dropped: 0,
      });
      assert.equal((await post("/v1/sources/rogue_source", { id: "ok-4" }, "wrong")).status, 401);
      const webhook = await rt.app.request("/v1/sources/rogue_source?write_key=wk", {
        method: "POST",
        body: JSON.stringify({ id: "ok-5" }),
      });
      assert.equal((await webhook.json()).accepted, 1); // a webhook's URL carries the key
      const empty = await rt.app.request("/v1/sources/rogue_source?write_key=", {
        method: "POST",
        headers: { authorization: "Bearer wk" },
        body: JSON.stringify({ id: "ok-6", events: "not a list of events: the object is one item" }),
      });
      assert.equal((await empty.json()).accepted, 1);

      // Replay: a refused item, corrected, goes through the transform again; the forged entry is refused again.
      const envLetter = letters.find((l: Json) => l.payload.item?.id === "env");
      const forgeLetter = letters.find((l: Json) => l.stage === "ingest");
      const replayed = await post("/api/dead-letters/replay", {
        ids: [envLetter.id, forgeLetter.id],
        payloads: { [envLetter.id]: { id: "env-fixed" } },
      });
      const outcome = await replayed.json();
      assert.deepEqual([outcome.replayed, outcome.events], [1, 1], JSON.stringify(outcome));
      assert.deepEqual(outcome.failed.map((f: Json) => f.id), [forgeLetter.id]);
      assert.equal((await rt.store.query("select 1 from host.events where event_id = 'env-fixed'")).length, 1);
      assert.equal((await post("/v1/sources/counter", { id: "x" })).status, 404); // no transform
      assert.equal((await post("/v1/sources/nobody", { id: "x" })).status, 404);
      const login = { event_id: "e1", type: "login", user_id: "u", timestamp: "2026-05-01T10:00:00Z" };
      assert.deepEqual(await (await post("/v1/events", [login])).json(), { accepted: 1, rejected: [] });
    });
  },
});
