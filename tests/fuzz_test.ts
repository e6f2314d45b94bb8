import assert from "node:assert/strict";
import { Fuzz, fuzzHeaders, type FuzzRequest } from "./support/fuzz.ts";
import { fuzzIngestBody, fuzzRouteRequest } from "./support/fuzz_requests.ts";
import type { Runtime } from "../runtime/runtime.ts";
import {
  getJson,
  type Json,
  pluginsFolder,
  REPO,
  startTestRuntime,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

/** `FUZZ_SEED` and `FUZZ_CASES` reproduce a run; `FUZZ_CASE=n` replays case n alone. */
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20_260_701);
const CASES = Number(Deno.env.get("FUZZ_CASES") ?? 6_000);
const ONLY = Deno.env.get("FUZZ_CASE");
/** Requests in flight at once: concurrent requests are part of what is fuzzed. */
const CONCURRENCY = 4;
const PLUGINS = ["stats", "funnel", "churn", "fraud", "alerts"];

/** Case `i` of a run: its own generator, so one case replays without the others. The first half posts events. */
function fuzzCase(i: number): FuzzRequest {
  const f = new Fuzz((SEED + Math.imul(i, 0x9e3779b1)) >>> 0);
  if (i >= CASES / 2) return fuzzRouteRequest(f);
  let n = 0;
  // Some ids repeat an earlier case's: duplicates must count once.
  const id = () => f.chance(0.05) ? `fz-${f.int(i + 1)}-0` : `fz-${i}-${n++}`;
  const method = f.chance(0.97) ? "POST" : f.pick(["GET", "PUT", "DELETE"]);
  return {
    method,
    url: "/v1/events",
    headers: fuzzHeaders(f),
    body: method === "GET" ? null : fuzzIngestBody(f, id),
  };
}

function bodyBytes(body: FuzzRequest["body"]): Uint8Array<ArrayBuffer> | string | undefined {
  if (body === null) return undefined;
  if ("json" in body) return JSON.stringify(body.json);
  if ("text" in body) return body.text;
  return body.bytes;
}

/** The items the runtime should have taken from an ingest body (as `batchItems` documents it). */
function itemsOf(sent: Uint8Array | string): unknown[] {
  // As the runtime reads it: UTF-8, a byte order mark dropped.
  const bytes = typeof sent === "string" ? new TextEncoder().encode(sent) : sent;
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  const body = JSON.parse(text);
  if (Array.isArray(body)) return body;
  if (body !== null && typeof body === "object" && "events" in body) return body.events;
  return [body];
}

function describeRoute(i: number, req: FuzzRequest): string {
  const body = bodyBytes(req.body);
  const shown = typeof body === "string" ? body : body ? `bytes ${[...body]}` : "";
  return `case ${i} (FUZZ_SEED=${SEED} FUZZ_CASE=${i}): ${req.method} ${req.url} ${JSON.stringify(req.headers)} ${
    shown.slice(0, 300)
  }`;
}

/** What the fuzzer expects of the runtime, accumulated over the cases. */
interface Ledger {
  /** Event ids of every item the runtime said it accepted. */
  accepted: Set<string>;
  /** Items it said it rejected (each must be in the dead letters). */
  rejected: number;
  /** Events that dead-letter replays said they ingested (duplicates included). */
  replayed: number;
  failures: string[];
}

async function run(rt: Runtime, i: number, ledger: Ledger): Promise<void> {
  const req = fuzzCase(i);
  const body = bodyBytes(req.body);
  let res: Response;
  try {
    res = await rt.app.request(req.url, { method: req.method, headers: req.headers, body });
  } catch (e) {
    ledger.failures.push(`${describeRoute(i, req)} → threw ${(e as Error).stack}`);
    return;
  }
  const text = res.headers.get("content-type")?.startsWith("text/event-stream")
    ? (await res.body?.cancel(), "")
    : await res.text();
  if (res.status >= 500) {
    ledger.failures.push(`${describeRoute(i, req)} → ${res.status} ${text.slice(0, 300)}`);
    return;
  }
  const path = req.url.split("?")[0];
  if (path === "/api/dead-letters/replay" && req.method === "POST" && res.status === 200) {
    ledger.replayed += JSON.parse(text).events;
  }
  if (path !== "/v1/events" || req.method !== "POST" || res.status !== 200) return;
  const items = itemsOf(body!);
  const answer = JSON.parse(text) as { accepted: number; rejected: { index: number; error: string }[] };
  const rejectedAt = new Set(answer.rejected.map((r) => r.index));
  const wrong = answer.accepted + answer.rejected.length !== items.length ||
    rejectedAt.size !== answer.rejected.length ||
    answer.rejected.some((r) => !(r.index >= 0 && r.index < items.length) || !r.error);
  if (wrong) ledger.failures.push(`${describeRoute(i, req)} → an answer that does not add up: ${text.slice(0, 300)}`);
  ledger.rejected += answer.rejected.length;
  items.forEach((item, k) => {
    if (!rejectedAt.has(k)) ledger.accepted.add((item as { event_id: string }).event_id);
  });
}

/** Runs `cases` against `rt`, a few at a time. */
async function runAll(rt: Runtime, cases: number[], ledger: Ledger): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cases.length) await run(rt, cases[next++], ledger);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  assert.deepEqual(ledger.failures.slice(0, 10), [], `${ledger.failures.length} failures`);
}

testEachBackend(
  `POST /v1/events and every /api route, fuzzed with ${CASES} random and malformed requests: ` +
    "never a 500 or a crash, every accepted event logged once, every rejected one in the dead letters",
  async (backend) => {
    console.log(`fuzz seed ${SEED}: reproduce with FUZZ_SEED=${SEED} FUZZ_CASES=${CASES}, or FUZZ_CASE=n for one case`);
    const all = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [Number(ONLY)];
    const ledger: Ledger = { accepted: new Set(), rejected: 0, replayed: 0, failures: [] };
    const store = await backend.open();
    try {
      // Ingest first, without plugins: on embedded PGlite each of their batches holds the one connection, so
      // with them running the same cases take several times as long.
      const bare = await startTestRuntime(backend, { pluginsDir: await pluginsFolder([]), store });
      try {
        await runAll(bare, all.filter((i) => i < CASES / 2), ledger);
        // Exact: the log holds each accepted event once, the dead letters each rejected item.
        assert.equal(bare.eventLog.head, ledger.accepted.size);
        const [{ n }] = await store.query<{ n: number }>("select count(*)::int8 as n from host.events");
        assert.equal(n, ledger.accepted.size);
        assert.equal((await getJson(bare, "/api/dead-letters?stage=ingest")).body.total, ledger.rejected);
      } finally {
        await bare.stop();
      }
      if (ONLY === undefined) {
        assert.ok(ledger.accepted.size > 1000 && ledger.rejected > 1000, `${ledger.accepted.size}, ${ledger.rejected}`);
      }

      // The four plugins take that log, odd events included, then every route is fuzzed.
      const from = new URL("plugins/", REPO);
      const pluginsDir = await pluginsFolder(PLUGINS.map((name) => ({ name, from })));
      await withRuntime(backend, { pluginsDir, store }, async (rt) => {
        await waitForCatchUp(rt, 120_000);
        await runAll(rt, all.filter((i) => i >= CASES / 2), ledger);
        assert.equal((await getJson(rt, "/healthz")).status, 200);
        assert.deepEqual((await getJson(rt, "/readyz")).body, { status: "ready" });
        await waitForCatchUp(rt, 120_000);
        const plugins = (await getJson(rt, "/api/plugins")).body.plugins as Json[];
        assert.deepEqual(
          plugins.map((p) => [p.name, p.status, p.failed, p.failed ? p.error : null]),
          PLUGINS.toSorted().map((p) => [p, "running", 0, null]),
        );
        assert.equal((await getJson(rt, "/api/dead-letters")).body.total, ledger.rejected, "no plugin dead letters");
        for (const p of PLUGINS) assert.equal(rt.metrics.value("plugin_restarts_total", { plugin: p }), 0, p);
        // Replays may have ingested letters again (as stored, or corrected): the log holds at most those besides.
        const logged = new Set(
          (await store.query<{ event_id: string }>("select event_id from host.events")).map((r) => r.event_id),
        );
        assert.deepEqual([...ledger.accepted].filter((id) => !logged.has(id)), [], "accepted events missing");
        assert.ok(
          logged.size <= ledger.accepted.size + ledger.replayed,
          `${logged.size} events logged, ${ledger.accepted.size} accepted, ${ledger.replayed} replayed`,
        );
        assert.equal((await getJson(rt, "/api/stats/overview")).body.events, logged.size);
      });
    } finally {
      await store.close();
    }
  },
);
