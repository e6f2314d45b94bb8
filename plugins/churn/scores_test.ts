import assert from "node:assert/strict";
import type { Event } from "@runtime/sdk";
import { pluginDatabase } from "@runtime/testing";
import plugin from "./mod.ts";
import { FEATURES } from "./features.ts";

Deno.test("queue() scores a batch's users just after its latest event, milliseconds included", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const model = {
    kind: "logistic",
    mean: FEATURES.map(() => 0),
    std: FEATURES.map(() => 1),
    weights: [0, ...FEATURES.map(() => 0.1)],
  };
  await db.query(
    `insert into models (version, kind, trained_at, as_of, samples, metrics, model, live)
     values (1, 'logistic', now(), now(), 0, '{}', $1::jsonb, true)`,
    [JSON.stringify(model)],
  );
  const event = (id: string, timestamp: string): Event => ({
    event_id: id,
    type: "page_view",
    user_id: "u1",
    session_id: "s1",
    timestamp,
    properties: {},
  });
  // Two batches on one day: the second scores u1 as of just after 10:05:00.750, when its session is over.
  for (const batch of [[event("e1", "2026-03-02T10:00:00.250Z")], [event("e2", "2026-03-02T10:05:00.750Z")]]) {
    await db.exec("begin");
    await plugin.queue!(batch, db.env as never);
    await db.exec("commit");
  }
  const [s] = await db.query<{ as_of: Date; features: Record<string, number> }>(
    "select as_of, features from churn.scores where user_id = 'u1'",
  );
  assert.equal(s.as_of.toISOString(), "2026-03-02T10:05:00.751Z");
  assert.equal(s.features.sessions_30d, 1);
  assert.equal(s.features.avg_session_min_30d, 5);
});

Deno.test("queue() scores with the baseline before any model; a stray event a year ahead does not become now", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const view = (id: string, user: string, timestamp: string): Event => ({
    event_id: id,
    type: "page_view",
    user_id: user,
    timestamp,
    properties: {},
  });
  // Ada and Bob view a page every hour on March 1st; Cy's device has a clock a year ahead.
  const hourly = (user: string) =>
    Array.from(
      { length: 20 },
      (_, h) => view(`${user}${h}`, user, `2026-03-01T0${h}:00:00Z`.replace(/T0(\d\d)/, "T$1")),
    );
  const batches = [
    [...hourly("ada"), ...hourly("bob")],
    [view("a2", "ada", "2026-03-02T09:00:00Z"), view("c1", "cy", "2027-03-02T09:00:00Z")],
  ];
  for (const batch of batches) {
    await db.exec("begin");
    await plugin.queue!(batch, { ...db.env, config: { horizonDays: 14 } } as never);
    await db.exec("commit");
  }
  const scores = await db.query<{ user_id: string; kind: string; model_version: number | null; as_of: Date }>(
    "select user_id, kind, model_version, as_of from churn.scores order by user_id",
  );
  // Scored as of just after Ada's last event: the stray a year ahead is not "now" (and Cy has no past to score).
  assert.deepEqual(
    scores.map((s) => [s.user_id, s.kind, s.model_version, s.as_of.toISOString()]),
    [
      ["ada", "baseline", null, "2026-03-02T09:00:00.001Z"],
      ["bob", "baseline", null, "2026-03-02T09:00:00.001Z"],
    ],
  );
});
