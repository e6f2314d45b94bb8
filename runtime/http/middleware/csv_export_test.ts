import assert from "node:assert/strict";
import { Hono } from "hono";
import { parse } from "csv-parse/sync";
import { answerHttpError } from "../errors.ts";
import { RateLimiter } from "../../core/rate_limiter.ts";
import { createLogger } from "../../observability/logger.ts";
import { csvExport } from "./csv_export.ts";
import { rateLimit } from "./rate_limit.ts";

const USERS = ["ann", "bob", "cy", "=dee", "eve", "fay", "gus"];

/** An app with the middleware in front of a few routes, as the host composes them; `lines` gets its log. */
function exportingApp(lines: string[] = [], perSecond = 0) {
  const app = new Hono();
  const counted = new WeakSet<Request>();
  const asked: string[] = [];
  app.onError(answerHttpError);
  app.use("*", async (c, next) => {
    asked.push(new URL(c.req.url).search);
    await next();
  });
  if (perSecond > 0) app.use("*", rateLimit(perSecond, new RateLimiter(perSecond), counted));
  const logger = createLogger("info", {}, (line) => lines.push(line));
  app.use("/api/*", csvExport({ dispatch: (r, env) => app.fetch(r, env), counted, logger }));
  // A list paged by user_id, as the people lists are: `after` in, `next` out; `tag` a filter passed on.
  app.get("/api/users", (c) => {
    const limit = Number(c.req.query("limit") ?? 3);
    const after = c.req.query("after") ?? "";
    const tag = c.req.query("tag") ?? null;
    if (c.req.query("format") !== undefined) return c.json({ error: "format reached the route" }, 400);
    const rest = USERS.filter((u) => u > after).sort();
    const page = rest.slice(0, limit);
    return c.json({
      total: USERS.length,
      users: page.map((user_id) => ({ user_id, tag, extra: { seen: user_id.length } })),
      next: rest.length > limit ? page[page.length - 1] : null,
    });
  });
  app.get("/api/overview", (c) => c.json({ events: 3, by_type: { search: 2, purchase: 1 }, from: null }));
  app.get("/api/paths", (c) => c.json({ nodes: [{ step: "search" }], links: [], top_paths: [{ sessions: 2 }] }));
  app.get("/api/stream", () => new Response("data: 1\n\n", { headers: { "content-type": "text/event-stream" } }));
  app.get("/api/missing", (c) => c.json({ error: "no such thing" }, 404));
  app.get("/api/loop", (c) => c.json({ rows: [{ n: c.req.query("offset") ?? "0" }], next_offset: 5 }));
  app.get("/api/long", (c) => c.json({ rows: [{ n: 1 }], next: "x".repeat(2000) }));
  app.get("/api/garbled", () => new Response("{not json", { headers: { "content-type": "application/json" } }));
  app.get("/api/slow", async (c) => {
    const after = Number(c.req.query("after") ?? 0);
    if (after > 0) await new Promise((r) => setTimeout(r, 20));
    return c.json({ rows: Array.from({ length: 100 }, (_, i) => ({ n: after + i })), next: String(after + 100) });
  });
  app.get("/api/breaks", (c) => {
    if (c.req.query("after")) throw new Error("the database went away");
    return c.json({ rows: [{ n: 1 }], next: "a" });
  });
  return { app, asked };
}

Deno.test("format=csv streams every page of a paged list, with its filters, and nested values as JSON", async () => {
  const { app, asked } = exportingApp();
  const res = await app.request("/api/users?limit=3&tag=vip&format=csv");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  assert.equal(res.headers.get("content-disposition"), 'attachment; filename="users.csv"');
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const text = await res.text();
  assert.equal(
    text,
    '"user_id","tag","extra"\r\n' +
      `"'=dee","vip","{""seen"":4}"\r\n"ann","vip","{""seen"":3}"\r\n"bob","vip","{""seen"":3}"\r\n` +
      `"cy","vip","{""seen"":2}"\r\n"eve","vip","{""seen"":3}"\r\n"fay","vip","{""seen"":3}"\r\n` +
      `"gus","vip","{""seen"":3}"\r\n`,
  );
  assert.deepEqual(asked, [
    "?limit=3&tag=vip&format=csv",
    "?limit=3&tag=vip",
    "?limit=3&tag=vip&after=bob",
    "?limit=3&tag=vip&after=fay",
  ]);
  assert.deepEqual(
    (parse(text, { columns: true }) as { user_id: string }[]).map((r) => r.user_id),
    ["'=dee", "ann", "bob", "cy", "eve", "fay", "gus"],
  );
});

Deno.test("format=csv: an answer without a list is one row; table= picks a list; format=json is the route's JSON", async () => {
  const { app } = exportingApp();
  assert.equal(
    await (await app.request("/api/overview?format=CSV")).text(),
    '"events","by_type.search","by_type.purchase","from"\r\n3,2,1,\r\n',
  );
  assert.equal(await (await app.request("/api/paths?format=csv")).text(), '"step"\r\n"search"\r\n');
  const top = await app.request("/api/paths?format=csv&table=top_paths");
  assert.equal(top.headers.get("content-disposition"), 'attachment; filename="paths-top_paths.csv"');
  assert.equal(await top.text(), '"sessions"\r\n2\r\n');
  assert.equal(await (await app.request("/api/paths?format=csv&table=links")).text(), "\r\n");
  assert.deepEqual(await (await app.request("/api/overview?format=json")).json(), {
    events: 3,
    by_type: { search: 2, purchase: 1 },
    from: null,
  });
  const head = await app.request("/api/overview?format=csv", { method: "HEAD" });
  assert.deepEqual([head.status, head.headers.get("content-type")], [200, "text/csv; charset=utf-8"]);
});

Deno.test("format=csv refuses what it cannot do with a 4xx naming the choices, and a route's bad JSON with a 502", async () => {
  const { app } = exportingApp();
  const cases: [string, number, string][] = [
    ["/api/paths?format=xml", 400, "format must be 'csv' or 'json', got 'xml'"],
    ["/api/paths?format=csv&table=nodez", 400, "table must be one of nodes, links, top_paths; got 'nodez'"],
    ["/api/overview?format=csv&table=by_type", 400, "GET /api/overview answers one table; table is not needed"],
    ["/api/paths?format=json&table=nodes", 400, "table applies only to format=csv"],
    ["/api/stream?format=csv", 400, "format=csv needs a JSON answer; GET /api/stream answers something else"],
    ["/api/missing?format=csv", 404, "no such thing"],
  ];
  for (const [path, status, error] of cases) {
    const res = await app.request(path);
    assert.deepEqual([res.status, await res.json()], [status, { error }], path);
  }
  const garbled = await app.request("/api/garbled?format=csv");
  assert.equal(garbled.status, 502);
  assert.match((await garbled.json()).error, /^GET \/api\/garbled answered JSON that cannot be exported: SyntaxError/);
});

Deno.test("format=csv cuts the transfer at a route that would loop, a cursor too long, or a page that fails", async () => {
  const lines: string[] = [];
  const { app, asked } = exportingApp(lines);
  for (const path of ["/api/loop", "/api/long", "/api/breaks"]) {
    asked.length = 0;
    const res = await app.request(`${path}?format=csv`);
    assert.equal(res.status, 200, path); // the first page was fine; the failure comes in the body
    await assert.rejects(res.text(), path);
    assert.ok(asked.length <= 3, `${path}: ${asked.join(" ")}`);
    assert.ok(lines.some((l) => l.includes('"msg":"csv export stopped"') && l.includes(path)), lines.join("\n"));
  }
});

Deno.test("format=csv asks for no more pages once the reader goes away, and says nothing of it", async () => {
  const lines: string[] = [];
  const { app, asked } = exportingApp(lines);
  const res = await app.request("/api/slow?format=csv");
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  await reader.cancel();
  const after = asked.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(asked.length, after);
  assert.ok(after < 10, asked.join(" "));
  assert.deepEqual(lines, []);
});

Deno.test("format=csv: each later page passes the rate limit as a reader's would, and the export waits for it", async () => {
  const { app, asked } = exportingApp([], 2);
  const headers = { authorization: "Bearer reader" };
  const started = Date.now();
  const res = await app.request("/api/users?limit=2&format=csv", { headers });
  assert.equal(res.status, 200);
  assert.equal((await res.text()).split("\r\n").length - 2, USERS.length); // 4 pages, all there
  // 2 a second: the export and its first page pass on one token, the three pages after wait for theirs.
  assert.ok(asked.filter((q) => q.includes("after=")).length >= 3, asked.join(" "));
  assert.ok(Date.now() - started >= 500, "it waited for the bucket");
  assert.equal((await app.request("/api/users?format=csv", { headers })).status, 429);
});
