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
  const made = new WeakSet<Request>();
  const asked: string[] = [];
  app.onError(answerHttpError);
  app.use("*", async (c, next) => {
    asked.push(new URL(c.req.url).search);
    await next();
  });
  if (perSecond > 0) app.use("*", rateLimit(perSecond, new RateLimiter(perSecond), made));
  const logger = createLogger("info", {}, (line) => lines.push(line));
  app.use("/api/*", csvExport({ dispatch: (r, env) => app.fetch(r, env), made, logger }));
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
  const text = await res.text();
  assert.equal(
    text,
    "user_id,tag,extra\r\n" +
      `'=dee,vip,"{""seen"":4}"\r\nann,vip,"{""seen"":3}"\r\nbob,vip,"{""seen"":3}"\r\n` +
      `cy,vip,"{""seen"":2}"\r\neve,vip,"{""seen"":3}"\r\nfay,vip,"{""seen"":3}"\r\n` +
      `gus,vip,"{""seen"":3}"\r\n`,
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
    await (await app.request("/api/overview?format=csv")).text(),
    "events,by_type.search,by_type.purchase,from\r\n3,2,1,\r\n",
  );
  assert.equal(await (await app.request("/api/paths?format=csv")).text(), "step\r\nsearch\r\n");
  const top = await app.request("/api/paths?format=csv&table=top_paths");
  assert.equal(top.headers.get("content-disposition"), 'attachment; filename="paths-top_paths.csv"');
  assert.equal(await top.text(), "sessions\r\n2\r\n");
  assert.equal(await (await app.request("/api/paths?format=csv&table=links")).text(), "\r\n");
  assert.deepEqual(await (await app.request("/api/overview?format=json")).json(), {
    events: 3,
    by_type: { search: 2, purchase: 1 },
    from: null,
  });
});

Deno.test("format=csv refuses what it cannot do with a 400 naming the choices, and passes a route's error on", async () => {
  const { app } = exportingApp();
  const cases: [string, number, string][] = [
    ["/api/paths?format=xml", 400, "format must be 'csv' or 'json', got 'xml'"],
    ["/api/paths?format=csv&table=nodez", 400, "table must be one of nodes, links, top_paths; got 'nodez'"],
    [
      "/api/overview?format=csv&table=by_type",
      400,
      "GET /api/overview answers one row, not tables; table is not needed",
    ],
    ["/api/paths?format=json&table=nodes", 400, "table applies only to format=csv"],
    ["/api/stream?format=csv", 400, "format=csv needs a JSON answer; GET /api/stream answers something else"],
    ["/api/missing?format=csv", 404, "no such thing"],
  ];
  for (const [path, status, error] of cases) {
    const res = await app.request(path);
    assert.deepEqual([res.status, await res.json()], [status, { error }], path);
  }
});

Deno.test("format=csv stops at a cursor that repeats, and cuts the transfer when a later page fails", async () => {
  const lines: string[] = [];
  const { app, asked } = exportingApp(lines);
  assert.equal(await (await app.request("/api/loop?format=csv")).text(), "n\r\n0\r\n5\r\n");
  assert.equal(asked.length, 3); // the export, its first page, the one at offset=5, and no more
  const res = await app.request("/api/breaks?format=csv");
  assert.equal(res.status, 200); // the first page was fine; the failure comes in the body
  await assert.rejects(res.text());
  assert.ok(lines.some((l) => l.includes('"msg":"csv export stopped"') && l.includes("/api/breaks")), lines.join("\n"));
});

Deno.test("format=csv passes the rate limit once: its pages are not counted, a second export is", async () => {
  const { app } = exportingApp([], 1);
  const headers = { authorization: "Bearer reader" };
  const res = await app.request("/api/users?limit=2&format=csv", { headers });
  assert.equal(res.status, 200);
  assert.equal((await res.text()).split("\r\n").length - 2, USERS.length); // 4 pages, all there
  assert.equal((await app.request("/api/users?format=csv", { headers })).status, 429);
});
