/**
 * CSV exports (`?format=csv`) of the shipped plugins' answers and the host's, read back by an outside CSV parser
 * (csv-parse) and held against the same routes' JSON: every row and value, every page of a paged list, with hostile
 * text from senders made inert, behind the read token.
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import type { Runtime } from "../runtime/runtime.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  allPages,
  BACKENDS,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const TOKEN = "reader-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A cell as an export writes a scalar: empty for null, a leading `'` on text a spreadsheet would run. */
function expectedCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return typeof value === "string" && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

async function get(rt: Runtime, path: string): Promise<Response> {
  return await rt.app.request(path, { headers: AUTH });
}

/** The CSV export of `path` (with `extra` parameters), parsed into records. */
async function exported(rt: Runtime, path: string, extra = "format=csv"): Promise<Record<string, string>[]> {
  const res = await get(rt, `${path}${path.includes("?") ? "&" : "?"}${extra}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  return parse(text, { columns: true, relax_column_count: false });
}

Deno.test("CSV exports equal the JSON answers, follow every page, and make senders' formulas inert", async () => {
  const { events } = otherWorld({ seed: 41, users: 120, start: new Date("2026-03-02T00:00:00Z"), days: 21 });
  const hostile = [
    { user: "=cmd|' /C calc'!A0", product: '=HYPERLINK("http://evil.example","x")', category: '+a,"b"\nc' },
    { user: "@admin", product: "-1+1", category: "plain" },
  ].map((h, i) => ({
    event_id: `hostile-${i}`,
    type: "product_view",
    user_id: h.user,
    timestamp: "2026-03-10T10:00:00Z",
    properties: { product_id: h.product, category: h.category, price: 5 },
  }));
  const pluginsDir = await pluginsFolder([
    { name: "stats", from: new URL("plugins/", REPO) },
    { name: "funnel", from: new URL("plugins/", REPO) },
  ]);
  const options = { pluginsDir, apiTokens: [TOKEN], money: { base: "USD", rates: {} } };
  await withRuntime(BACKENDS[0], options, async (rt) => {
    const all = [...events, ...hostile];
    for (let i = 0; i < all.length; i += 1000) {
      const res = await rt.app.request("/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(all.slice(i, i + 1000)),
      });
      assert.deepEqual((await res.json()).rejected, []);
    }
    // Refused events, for the dead letters' export.
    assert.equal((await postJson(rt, "/v1/events", [{ type: "x" }, { type: "y" }, { type: "z" }])).status, 200);
    await waitForCatchUp(rt);

    // No token, no export.
    assert.equal((await rt.app.request("/api/stats/products?format=csv")).status, 401);

    // Tables: every row, every scalar value, in the JSON's order.
    const tables: [path: string, table: string | null, key: string][] = [
      ["/api/stats/products?limit=500&sort=views", "products", "product_id"],
      ["/api/stats/revenue?by=category", "rows", "key"],
      ["/api/stats/retention?interval=week&periods=3&from=2026-03-02&to=2026-03-23", "cohorts", "start"],
      ["/api/funnel/paths?event=product_view&depth=3", "nodes", "step"],
      ["/api/funnel/summary", "steps", "step"],
      ["/api/dead-letters?limit=1000", "items", "id"],
    ];
    for (const [path, table, key] of tables) {
      const { body } = { body: await (await get(rt, path)).json() as Json };
      const rows = body[table!] as Record<string, unknown>[];
      assert.ok(rows.length > 0, `${path}: a real case`);
      const records = await exported(rt, path);
      assert.deepEqual(records.map((r) => r[key]), rows.map((r) => expectedCell(r[key])), path);
      for (const [i, row] of rows.entries()) {
        for (const [field, value] of Object.entries(row)) {
          if (value !== null && typeof value === "object") continue;
          assert.equal(records[i][field], expectedCell(value), `${path}, row ${i}, ${field}`);
        }
      }
    }
    // The hostile product ids and category, as text a spreadsheet shows rather than runs.
    const products = await exported(rt, "/api/stats/products?limit=500");
    const evil = products.find((p) => p.product_id.includes("HYPERLINK"));
    assert.deepEqual(evil && [evil.product_id, evil.category], [
      `'=HYPERLINK("http://evil.example","x")`,
      `'+a,"b"\nc`,
    ]);
    assert.ok(products.some((p) => p.product_id === "'-1+1"));

    // Nested values: retention's per-period counts as columns; one row for the overview, its counts by type flattened.
    const retention = (await (await get(rt, tables[2][0])).json()) as Json;
    const cohorts = await exported(rt, tables[2][0]);
    assert.deepEqual(
      cohorts.map((c) => [c["retained.0"], c["retained.1"], c["rates.1"]]),
      retention.cohorts.map((
        c: Json,
      ) => [expectedCell(c.retained[0]), expectedCell(c.retained[1]), expectedCell(c.rates[1])]),
    );
    const overview = (await (await get(rt, "/api/stats/overview?from=2026-03-05T00:00:00Z")).json()) as Json;
    const [row, ...none] = await exported(rt, "/api/stats/overview?from=2026-03-05T00:00:00Z");
    assert.deepEqual(none, []);
    assert.equal(row.events, String(overview.events));
    assert.equal(row.from, "2026-03-05T00:00:00.000Z");
    for (const [type, n] of Object.entries(overview.by_type)) assert.equal(row[`by_type.${type}`], String(n), type);
    // Another of an answer's tables, by name.
    const top = await exported(rt, "/api/funnel/paths?event=product_view&depth=3&top=10", "format=csv&table=top_paths");
    const paths = (await (await get(rt, "/api/funnel/paths?event=product_view&depth=3&top=10")).json()) as Json;
    assert.deepEqual(
      top.map((t) => [JSON.parse(t.steps), Number(t.sessions)]),
      paths.top_paths.map((t: Json) => [
        t.steps,
        t.sessions,
      ]),
    );

    // Paged lists, read to their end in pages of 4 (users) and 1 (letters): the same as reading every page by hand.
    for (const segment of ["lost", "potential"]) {
      const path = `/api/stats/segments/${segment}/users`;
      const everyone = await allPagesWithToken(rt, path);
      assert.ok(everyone.length > 4, `${segment}: more than a page`);
      assert.deepEqual((await exported(rt, `${path}?limit=4`)).map((r) => r.user_id), everyone.map(expectedCell));
    }
    // Over a real connection too, where the pages are asked for after the answer has begun.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, rt.app.fetch);
    try {
      const url = `http://127.0.0.1:${server.addr.port}/api/stats/segments/lost/users?limit=3&format=csv`;
      const res = await fetch(url, { headers: AUTH });
      const users = parse(await res.text(), { columns: true }) as { user_id: string }[];
      const lost = await allPagesWithToken(rt, "/api/stats/segments/lost/users");
      assert.deepEqual(users.map((u) => u.user_id), lost.map(expectedCell));
    } finally {
      await server.shutdown();
    }
    const letters = (await (await get(rt, "/api/dead-letters?limit=1000")).json()) as Json;
    assert.equal(letters.items.length, 3);
    assert.deepEqual(
      (await exported(rt, "/api/dead-letters?limit=1")).map((r) => [r.id, JSON.parse(r.payload)]),
      letters.items.map((l: Json) => [String(l.id), l.payload]),
    );
  });
});

/** Every user of a paged list, read by hand with the token. */
async function allPagesWithToken(rt: Runtime, path: string): Promise<string[]> {
  const withToken = {
    ...rt,
    app: { request: (p: string) => rt.app.request(p, { headers: AUTH }) },
  } as unknown as Runtime;
  return await allPages(withToken, path, 5);
}

Deno.test("a CSV export's later pages pass the runtime's rate limit, and the export waits for them", async () => {
  const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
  await withRuntime(BACKENDS[0], { pluginsDir, rateLimit: 2 }, async (rt) => {
    const refused = await postJson(rt, "/v1/events", [{ type: "x" }, { type: "y" }, { type: "z" }, { type: "w" }]);
    assert.equal(refused.body.rejected.length, 4);
    await new Promise((r) => setTimeout(r, 1100)); // a full bucket
    const started = Date.now();
    const res = await rt.app.request("/api/dead-letters?limit=1&format=csv");
    const rows = parse(await res.text(), { columns: true }) as { reason: string }[];
    assert.equal(rows.length, 4);
    // 2 a second: the export and its first page on one token, the second page on the other, the last two waited for.
    assert.ok(Date.now() - started >= 900, `${Date.now() - started} ms`);
    assert.equal((await rt.app.request("/api/dead-letters")).status, 429); // the pages took the bucket
  });
});
