/**
 * Notices end to end, on both backends: the fraud plugin's alerts pushed to webhooks (real receivers on local ports,
 * signatures checked with the Standard Webhooks reference library, `standardwebhooks` from npm) and to `/api/stream`;
 * retries, dead letters and replay; and the `notifier` fixture's bad notices refused with their batch.
 * @module
 */
import assert from "node:assert/strict";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { Runtime } from "../runtime/runtime.ts";
import {
  type Backend,
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

/** Fast retries; the receivers are local, allowed by name as WEBHOOK_ALLOW_HOSTS would. */
const FAST = { retryBaseMs: 20, maxAttempts: 3, allowHosts: ["127.0.0.1"] };
const RAW_SECRET = "a raw secret of printable ascii".replaceAll(" ", "-");

/** A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
function newSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** Five purchases of `user` 5 s apart from `start`: velocity flags the 4th and the 5th (more than 3 in 120 s). */
function burst(user: string, start = "2026-04-01T10:00:00Z", count = 5) {
  return Array.from({ length: count }, (_, k) => ({
    event_id: `${user}-${k}`,
    type: "purchase",
    user_id: user,
    timestamp: new Date(Date.parse(start) + k * 5000).toISOString(),
    properties: { amount: 50, country: "DE", device: "mobile" },
  }));
}

/** A request a receiver got: its headers and its body exactly as sent. */
interface Received {
  headers: Record<string, string>;
  body: string;
}

/**
 * A webhook receiver on a free local port; `answer(tries)` gives the status of a request from how many requests of its
 * `webhook-id` came so far, this one included.
 */
function receiver(answer: (tries: number) => number = () => 204) {
  const got: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const received = { headers: Object.fromEntries(req.headers), body: await req.text() };
    got.push(received);
    const status = answer(got.filter((r) => r.headers["webhook-id"] === received.headers["webhook-id"]).length);
    return new Response(status === 204 ? null : status >= 400 ? "receiver is down" : "ok", { status });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hooks`, got, close: () => server.shutdown() };
}

/** A received request's body, verified with the reference library; throws when it does not verify. */
function verify(secret: string, r: Received): Json {
  return new Webhook(secret).verify(r.body, r.headers) as Json;
}

async function put(rt: Runtime, name: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await rt.app.request(`/api/webhooks/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function deliveries(rt: Runtime, name: string): Promise<Json[]> {
  const { status, body } = await getJson(rt, `/api/webhooks/${name}/deliveries`);
  assert.equal(status, 200, JSON.stringify(body));
  return body.deliveries;
}

/** Waits until `name`'s delivery log passes `done`, and answers it. */
async function logWhen(rt: Runtime, name: string, what: string, done: (log: Json[]) => boolean): Promise<Json[]> {
  let log: Json[] = [];
  await waitFor(what, async () => done(log = await deliveries(rt, name)));
  return log;
}

const fraudOnly = () => pluginsFolder([{ name: "fraud", from: new URL("plugins/", REPO) }]);

/**
 * The alerts the fraud plugin stored for `user` (at least one), by event id, as a notice carries them: each field of
 * `GET /api/fraud/alerts` but `created_at`, the event time as milliseconds (the two sides spell it each their way).
 * Its rules are the plugin's to change: the tests expect what it alerted on, not a rule's points.
 */
async function alertsOf(rt: Runtime, user: string): Promise<Map<string, Json>> {
  const { alerts } = (await getJson(rt, `/api/fraud/alerts?user_id=${user}`)).body;
  assert.ok(alerts.length > 0, `the fraud plugin alerted on ${user}`);
  return new Map(alerts.map(({ created_at: _, ...a }: Json) => [a.event_id, asSent(a)]));
}

/** An alert's fields with its event time as milliseconds. */
function asSent(alert: Json): Json {
  return { ...alert, event_time: Date.parse(alert.event_time) };
}

testEachBackend(
  "each fraud alert reaches a subscribed webhook exactly once, signed as Standard Webhooks verify",
  async (backend) => {
    const hook = receiver();
    try {
      await withRuntime(backend, { pluginsDir: await fraudOnly(), webhooks: FAST }, async (rt) => {
        const secret = newSecret();
        const saved = await put(rt, "fraud-ops", { url: hook.url, secret, plugin: "fraud", channel: "alert" });
        assert.equal(saved.status, 200, JSON.stringify(saved.body));
        assert.deepEqual(
          { ...saved.body, created_at: "", updated_at: "" },
          {
            name: "fraud-ops",
            url: hook.url,
            plugin: "fraud",
            channel: "alert",
            enabled: true,
            created_at: "",
            updated_at: "",
          },
        );
        // A raw secret (printable ASCII) signs too; a disabled webhook and one on another channel get nothing.
        const raw = { url: hook.url, secret: RAW_SECRET, plugin: "fraud", channel: "alert" };
        assert.equal((await put(rt, "raw", raw)).status, 200);
        const paused = { url: hook.url, secret, plugin: "fraud", channel: "alert", enabled: false };
        assert.equal((await put(rt, "paused", paused)).status, 200);
        const other = { url: hook.url, secret, plugin: "fraud", channel: "other" };
        assert.equal((await put(rt, "other", other)).status, 200);

        await postJson(rt, "/v1/events", burst("mallory")); // five purchases within 20 s
        await waitForCatchUp(rt);
        const alerts = await alertsOf(rt, "mallory");
        assert.ok(alerts.has("mallory-4"), "the 5th purchase within seconds is alerted");
        await waitFor("each alert delivered to both webhooks", async () => {
          const all = [...await deliveries(rt, "fraud-ops"), ...await deliveries(rt, "raw")];
          return all.length === 2 * alerts.size && all.every((d) => d.status === "delivered");
        });
        assert.equal(hook.got.length, 2 * alerts.size, "each alert once per webhook");
        assert.deepEqual(await deliveries(rt, "paused"), []);
        assert.deepEqual(await deliveries(rt, "other"), []);

        // One notice per alert, committed with it; each delivered once, on the first attempt.
        const notices = await rt.store.query<{ id: number; payload: Json }>(
          "select id, payload from host.notices where plugin = 'fraud' and channel = 'alert' order by id",
        );
        assert.deepEqual(notices.map((n) => n.payload.event_id).sort(), [...alerts.keys()].sort());
        const log = await deliveries(rt, "fraud-ops");
        assert.deepEqual(
          log.map((d) => [d.notice_id, d.status, d.attempts, d.last_status, d.last_error]),
          notices.map((n) => [n.id, "delivered", 1, 204, null]).reverse(), // newest first
        );

        const ops = new Webhook(secret);
        const rawVerifier = new Webhook(RAW_SECRET, { format: "raw" });
        const bySecret = new Map<string, string[]>([["ops", []], ["raw", []]]);
        for (const r of hook.got) {
          // Which webhook sent it shows only in its signature: one of the two secrets verifies it.
          let body: Json;
          try {
            body = ops.verify(r.body, r.headers);
            bySecret.get("ops")!.push(body.data.event_id);
          } catch {
            body = rawVerifier.verify(r.body, r.headers);
            bySecret.get("raw")!.push(body.data.event_id);
          }
          assert.equal(r.headers["content-type"], "application/json");
          const notice = notices.find((n) => n.payload.event_id === body.data.event_id)!;
          assert.equal(r.headers["webhook-id"], String(notice.id));
          assert.equal(body.type, "fraud.alert");
          assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
          // The alert as the plugin stored it, field by field.
          assert.deepEqual(asSent(body.data), alerts.get(body.data.event_id));
        }
        for (const ids of bySecret.values()) assert.deepEqual(ids.sort(), [...alerts.keys()].sort());
        // The payload the fraud plugin documents, no more, no less.
        assert.deepEqual(Object.keys(alerts.get("mallory-4")).sort(), [
          "alert_id",
          "amount",
          "event_id",
          "event_time",
          "reasons",
          "ruleset",
          "score",
          "user_id",
        ]);

        // A body changed on the way fails verification.
        const sent = hook.got[0];
        const tampered = sent.body.replace('"user_id":"mallory"', '"user_id":"alice"');
        assert.notEqual(tampered, sent.body);
        assert.throws(() => ops.verify(tampered, sent.headers), WebhookVerificationError);
        assert.throws(() => rawVerifier.verify(tampered, sent.headers), WebhookVerificationError);

        // The secrets never come back.
        for (
          const path of [
            "/api/webhooks",
            "/api/webhooks/fraud-ops/deliveries",
            "/api/dead-letters",
            "/api/openapi.json",
          ]
        ) {
          const text = await (await rt.app.request(path)).text();
          assert.ok(!text.includes(secret) && !text.includes(RAW_SECRET), `${path} shows no secret`);
        }
        assert.ok(!JSON.stringify(saved.body).includes(secret));
        const listed = (await getJson(rt, "/api/webhooks")).body.webhooks;
        assert.deepEqual(listed.map((w: Json) => w.name), ["fraud-ops", "other", "paused", "raw"]);
        assert.ok(listed.every((w: Json) => !("secret" in w)));
      });
    } finally {
      await hook.close();
    }
  },
);

testEachBackend("a receiver that answers 500 twice, then 200, gets each alert on the 3rd attempt", async (backend) => {
  const hook = receiver((tries) => tries <= 2 ? 500 : 200);
  try {
    await withRuntime(backend, { pluginsDir: await fraudOnly(), webhooks: FAST }, async (rt) => {
      const secret = newSecret();
      assert.equal((await put(rt, "flaky", { url: hook.url, secret, plugin: "fraud", channel: "alert" })).status, 200);
      await postJson(rt, "/v1/events", burst("trudy", undefined, 4));
      await waitForCatchUp(rt);
      const alerts = await alertsOf(rt, "trudy");
      const log = await logWhen(
        rt,
        "flaky",
        "the deliveries",
        (log) => log.length === alerts.size && log.every((d) => d.status === "delivered"),
      );
      for (const d of log) {
        assert.deepEqual([d.status, d.attempts, d.last_status, d.last_error, d.next_attempt_at], [
          "delivered",
          3,
          200,
          null,
          null,
        ]);
      }
      assert.equal(hook.got.length, 3 * alerts.size);
      // Every attempt of a delivery carries the same webhook-id, each signed afresh; all verify.
      for (const d of log) {
        const attempts = hook.got.filter((r) => r.headers["webhook-id"] === String(d.notice_id));
        assert.equal(attempts.length, 3);
        assert.equal(new Set(attempts.map((r) => verify(secret, r).data.alert_id)).size, 1);
      }
    });
  } finally {
    await hook.close();
  }
});

testEachBackend(
  "a delivery that keeps failing ends dead, dead-lettered; replayed once the receiver is fixed, it is delivered",
  async (backend) => {
    let fixed = false;
    const hook = receiver(() => fixed ? 200 : 503);
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const nowhere = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}/`;
    closed.close(); // nothing listens there now: the connection is refused
    try {
      await withRuntime(backend, { pluginsDir: await fraudOnly(), webhooks: FAST }, async (rt) => {
        const secret = newSecret();
        assert.equal((await put(rt, "down", { url: hook.url, secret, plugin: "fraud", channel: "alert" })).status, 200);
        assert.equal((await put(rt, "gone", { url: nowhere, secret, plugin: "fraud", channel: "alert" })).status, 200);
        await postJson(rt, "/v1/events", burst("eve", undefined, 4));
        await waitForCatchUp(rt);
        const alerts = await alertsOf(rt, "eve");
        const dead = (name: string) =>
          logWhen(rt, name, `${name}'s deliveries to die`, (log) => {
            return log.length === alerts.size && log.every((d) => d.status === "dead");
          });
        for (const d of await dead("down")) {
          assert.deepEqual([d.attempts, d.last_status, d.last_error, d.next_attempt_at], [
            3,
            503,
            "HTTP 503", // the receiver's words are not kept: the log is read over the API
            null,
          ]);
        }
        for (const d of await dead("gone")) {
          assert.deepEqual([d.attempts, d.last_status], [3, null]);
          assert.match(d.last_error, /^cannot reach 127\.0\.0\.1:\d+: .*refused/i);
        }
        assert.equal(hook.got.length, 3 * alerts.size);

        const letters = (await getJson(rt, "/api/dead-letters?stage=webhook:down")).body;
        assert.equal(letters.total, alerts.size);
        const notices = await rt.store.query<{ id: number }>(
          "select id from host.notices where plugin = 'fraud' order by id",
        );
        for (const letter of letters.items) {
          assert.equal(letter.reason, "HTTP 503");
          assert.deepEqual(Object.keys(letter.payload).sort(), ["channel", "created_at", "id", "payload", "plugin"]);
          assert.deepEqual([letter.payload.plugin, letter.payload.channel], ["fraud", "alert"]);
          assert.ok(notices.some((n) => n.id === letter.payload.id));
          assert.deepEqual(asSent(letter.payload.payload), alerts.get(letter.payload.payload.event_id));
        }

        fixed = true;
        const replay = await postJson(rt, "/api/dead-letters/replay", { stage: "webhook:down" });
        assert.deepEqual(replay.body, {
          replayed: alerts.size,
          events: 0,
          skipped: [],
          failed: [],
          last_id: Math.max(...letters.items.map((l: Json) => l.id)),
        });
        const delivered = await logWhen(rt, "down", "the replayed deliveries", (log) => {
          return log.every((d) => d.status === "delivered");
        });
        for (const d of delivered) assert.deepEqual([d.attempts, d.last_status, d.last_error], [1, 200, null]);
        assert.equal(hook.got.length, 4 * alerts.size);
        const late = hook.got.slice(3 * alerts.size).map((r) => verify(secret, r).data.event_id);
        assert.deepEqual(late.sort(), [...alerts.keys()].sort());
        const [letter] = letters.items;
        const again = await postJson(rt, "/api/dead-letters/replay", { ids: [letter.id] });
        assert.deepEqual(again.body.skipped, [{ id: letter.id, reason: "already replayed" }]);
        // A deleted webhook's letter cannot be replayed: it says why, and is dead; the others stay pending.
        assert.equal((await rt.app.request("/api/webhooks/gone", { method: "DELETE" })).status, 204);
        assert.equal((await rt.app.request("/api/webhooks/gone", { method: "DELETE" })).status, 404);
        const orphan = (await getJson(rt, "/api/dead-letters?stage=webhook:gone")).body.items[0];
        const refused = await postJson(rt, "/api/dead-letters/replay", { ids: [orphan.id] });
        assert.match(
          refused.body.failed[0].error,
          /webhook 'gone' has no delivery of notice \d+: the webhook was deleted/,
        );
        const gone = (await getJson(rt, "/api/dead-letters?stage=webhook:gone")).body;
        assert.deepEqual(gone.by_state, { pending: alerts.size - 1, retrying: 0, dead: 1, resolved: 0 });
        assert.equal(gone.items.find((l: Json) => l.id === orphan.id).state, "dead");
      });
    } finally {
      await hook.close();
    }
  },
);

/** Reads server-sent events from a response body: each event's name and parsed data. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: Json }> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(message)?.[1];
      if (event) yield { event, data: JSON.parse(/^data: (.*)$/m.exec(message)![1]) };
    }
  }
}

/** The next `notice` event of a stream. */
async function nextNotice(stream: AsyncGenerator<{ event: string; data: Json }>): Promise<Json> {
  for (;;) {
    const { value, done } = await stream.next();
    if (done) throw new Error("the stream ended");
    if (value.event === "notice") return value.data;
  }
}

testEachBackend("/api/stream sends an alert as a 'notice' event within a second of its purchase", async (backend) => {
  await withRuntime(backend, { pluginsDir: await fraudOnly(), webhooks: FAST }, async (rt) => {
    // An alert before the stream connects is not sent to it: a stream starts from now.
    await postJson(rt, "/v1/events", burst("before", undefined, 4));
    await waitForCatchUp(rt);
    await postJson(rt, "/v1/events", burst("during", "2026-04-02T10:00:00Z", 3));
    await waitForCatchUp(rt);
    const res = await rt.app.request("/api/stream");
    const stream = events(res.body!);
    assert.equal((await stream.next()).value?.event, "update"); // connected
    const fourth = burst("during", "2026-04-02T10:00:00Z", 4)[3];
    const started = performance.now();
    assert.equal((await postJson(rt, "/v1/events", [fourth])).body.accepted, 1);
    const notice = await nextNotice(stream);
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `the notice came ${Math.round(ms)} ms after the purchase was accepted`);
    assert.deepEqual(Object.keys(notice), ["id", "plugin", "channel", "payload", "created_at"]);
    assert.deepEqual([notice.plugin, notice.channel, notice.payload.event_id], ["fraud", "alert", "during-3"]);
    assert.ok(!Number.isNaN(Date.parse(notice.created_at)));
    rt.closeStreams();
    for (;;) if ((await stream.next()).done) break;
  });
});

testEachBackend(
  "PUT /api/webhooks refuses a bad URL, a short secret or a bad name with a clear 400",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]) }, async (rt) => {
      const good = { url: "https://example.com/hooks", secret: newSecret(), plugin: "fraud", channel: "alert" };
      const cases: [string, Json, RegExp][] = [
        ["ok", { ...good, url: "ftp://example.com/" }, /^url: must be an http:\/\/ or https:\/\/ URL/],
        ["ok", { ...good, url: "not a url" }, /^url: must be an http:\/\/ or https:\/\/ URL/],
        ["ok", { ...good, url: "https://user:pw@example.com/" }, /^url: .*without user or password/],
        ["ok", { ...good, secret: "too-short" }, /^secret: must be whsec_ followed by the base64 of 24 to 64/],
        ["ok", { ...good, secret: "whsec_c2hvcnQ=" }, /^secret: must be whsec_/], // 5 bytes
        ["ok", { ...good, channel: "Alert" }, /^channel: must match/],
        ["ok", { ...good, plugin: "Fraud!" }, /^plugin: must match/],
        ["ok", { ...good, extra: 1 }, /Unrecognized key/],
        ["Bad_Name", good, /^name must match/],
      ];
      for (const [name, body, error] of cases) {
        const res = await put(rt, name, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(res.body.error, error);
        assert.ok(!res.body.error.includes("too-short"), "the secret is not echoed");
      }
      assert.deepEqual((await getJson(rt, "/api/webhooks")).body, { webhooks: [] });
      assert.equal((await getJson(rt, "/api/webhooks/none/deliveries")).status, 404);
      assert.equal((await getJson(rt, "/api/webhooks/none/deliveries?status=lost")).status, 400);
    });
  },
);

const notifierFolder = () => pluginsFolder([{ name: "notifier" }]);

testEachBackend(
  "a batch whose notices break the rules is refused like any failing batch, stores no notice, and the host goes on",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await notifierFolder() }, async (rt) => {
      const modes = ["bad_channel", "ok", "oversized", "ok", "many", "ok", "caught", "ok", "forged", "flaky"];
      const sent = modes.map((notify, i) => ({
        event_id: `n${i}-${notify}`,
        type: "page_view",
        user_id: "u1",
        timestamp: "2026-03-01T10:00:00Z",
        properties: { notify },
      }));
      assert.equal((await postJson(rt, "/v1/events", sent)).body.accepted, sent.length);
      await waitFor("the notifier past every event", () => rt.plugins.list()[0].lag === 0);
      const refused = ["n0-bad_channel", "n2-oversized", "n4-many", "n6-caught", "n8-forged"];
      const kept = sent.map((e) => e.event_id).filter((id) => !refused.includes(id));
      // Nothing of a refused batch is kept: neither its writes nor its notices. The flaky one notified once.
      assert.deepEqual((await getJson(rt, "/api/notifier/seen")).body.ids, kept);
      const notices = await rt.store.query<{ id: string }>(
        "select payload->>'event_id' as id from host.notices where plugin = 'notifier' order by id",
      );
      assert.deepEqual(notices.map((n) => n.id), kept);
      const letters = (await getJson(rt, "/api/dead-letters?stage=plugin:notifier")).body.items;
      const reasons = Object.fromEntries(letters.map((l: Json) => [l.payload.event_id, l.reason]));
      assert.deepEqual(Object.keys(reasons).sort(), refused);
      assert.match(
        reasons["n0-bad_channel"],
        /^plugin notifier: notify: the channel must match .*, got 'Bad Channel'$/,
      );
      assert.match(
        reasons["n2-oversized"],
        /^plugin notifier: notify: the payload is \d+ bytes serialized, over the 16384/,
      );
      assert.equal(reasons["n4-many"], "plugin notifier: notify: over 1000 notices in one call");
      assert.equal(reasons["n6-caught"], "plugin notifier: notify: the payload must be a JSON object, got an array");
      // Past the SDK, straight onto the wire: the host's own check refuses it.
      assert.match(reasons["n8-forged"], /^plugin notifier: notify: the channel must match .*, got 'Not A Channel'$/);
      assert.equal(rt.plugins.list()[0].status, "running");
      assert.equal((await getJson(rt, "/healthz")).status, 200);
      assert.deepEqual((await getJson(rt, "/api/notifier/notify")).body, {
        error: "env.notify works in queue, merge and scheduled only: a request or a transform notifies nothing",
      });
    });
  },
);

testEachBackend("scheduled work's notices reach the stream once its run succeeds", async (backend) => {
  const pluginSettings = { notifier: { tick: true } };
  await withRuntime(backend, { pluginsDir: await notifierFolder(), pluginSettings }, async (rt) => {
    const res = await rt.app.request("/api/stream");
    const stream = events(res.body!);
    const tick = await nextNotice(stream);
    assert.deepEqual([tick.plugin, tick.channel, tick.payload], ["notifier", "tick", { watermark: null }]);
    rt.closeStreams();
    for (;;) if ((await stream.next()).done) break;
  });
});

/** Two runtimes on one PostgreSQL database, as two processes would be. */
async function twoRuntimes(backend: Backend, dirs: [string, string]): Promise<[Runtime, Runtime]> {
  const db = await backend.fresh();
  const one = await startTestRuntime(backend, { ...db, pluginsDir: dirs[0], store: undefined, webhooks: FAST });
  const two = await startTestRuntime(backend, { ...db, pluginsDir: dirs[1], store: undefined, webhooks: FAST });
  return [one, two];
}

Deno.test({
  name:
    "[postgres] two processes on one database: each delivery is made once, and each stream sees the other's notices",
  ignore: !BACKENDS[1].enabled,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const hook = receiver();
    // The first runs the notifier; the second only serves: its stream and its deliverer read what the first commits.
    const [one, two] = await twoRuntimes(BACKENDS[1], [await notifierFolder(), await pluginsFolder([])]);
    try {
      const secret = newSecret();
      assert.equal(
        (await put(two, "both", { url: hook.url, secret, plugin: "notifier", channel: "seen" })).status,
        200,
      );
      const res = await two.app.request("/api/stream");
      const stream = events(res.body!);
      assert.equal((await stream.next()).value?.event, "update");
      const sent = Array.from({ length: 40 }, (_, i) => ({
        event_id: `m${i}`,
        type: "page_view",
        user_id: `u${i}`,
        timestamp: "2026-03-01T10:00:00Z",
        properties: { notify: "ok" },
      }));
      for (const e of sent) await postJson(one, "/v1/events", [e]); // 40 batches, 40 commits
      const streamed: string[] = [];
      while (streamed.length < sent.length) streamed.push((await nextNotice(stream)).payload.event_id);
      assert.deepEqual(streamed, sent.map((e) => e.event_id));
      await waitFor("every delivery made", async () => {
        const log = await deliveries(one, "both");
        return log.length === sent.length && log.every((d) => d.status === "delivered");
      });
      const ids = hook.got.map((r) => verify(secret, r).data.event_id);
      assert.deepEqual(ids.sort(), sent.map((e) => e.event_id).sort(), "each once, whichever process sent it");
      two.closeStreams();
      for (;;) if ((await stream.next()).done) break;
    } finally {
      await one.stop();
      await two.stop();
      await hook.close();
    }
  },
});

testEachBackend(
  "webhooks are managed with an admin token only: a reading token is refused, and answers hide the URL's query",
  async (backend) => {
    const tokens = { apiTokens: ["reader-token-000000000000"], adminTokens: ["admin-token-0000000000000"] };
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]), ...tokens }, async (rt) => {
      const as = (token: string, method: string, body?: unknown) =>
        rt.app.request("/api/webhooks/ops", {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const hook = {
        url: "https://hooks.example.com/services/T0(1)?token=RECEIVER-SECRET",
        secret: newSecret(),
        plugin: "fraud",
        channel: "alert",
      };
      const refused = await as("reader-token-000000000000", "PUT", hook);
      assert.equal(refused.status, 403);
      assert.match((await refused.json()).error, /needs an admin token \(ADMIN_TOKENS\)/);
      assert.equal((await as("reader-token-000000000000", "GET")).status, 403);
      const saved = await as("admin-token-0000000000000", "PUT", hook);
      assert.equal(saved.status, 200);
      assert.equal((await saved.json()).url, "https://hooks.example.com/services/T0(1)?…");
      const list = await rt.app.request("/api/webhooks", {
        headers: { authorization: "Bearer admin-token-0000000000000" },
      });
      assert.ok(!JSON.stringify(await list.json()).includes("RECEIVER-SECRET"));
      // The admin token reads the rest of /api too; the reading token still does.
      assert.equal(
        (await rt.app.request("/api/plugins", { headers: { authorization: "Bearer admin-token-0000000000000" } }))
          .status,
        200,
      );
    });
    // Reading tokens set, no admin token: nobody manages webhooks.
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]), apiTokens: tokens.apiTokens }, async (rt) => {
      const res = await rt.app.request("/api/webhooks", {
        headers: { authorization: "Bearer reader-token-000000000000" },
      });
      assert.equal(res.status, 403);
    });
  },
);
