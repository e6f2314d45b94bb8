import assert from "node:assert/strict";
import { pluginDatabase } from "@runtime/testing";
import { denseSpan, planTraining } from "./span.ts";

const DAY = 86_400_000;
const FROM = Date.parse("2026-01-01T00:00:00Z");
/** A dense history of `days` days: its latest event at noon of the last day. */
const history = (days: number) => ({ from: FROM, to: FROM + (days - 1) * DAY + DAY / 2 });
const CONFIG = { horizonDays: 14, stepDays: 3 };

Deno.test("planTraining() keeps the configured horizon on six weeks of history, with daily snapshots", () => {
  const plan = planTraining(history(42), CONFIG);
  assert.ok(typeof plan !== "string", String(plan));
  // The last moment is day 27 (day 41's midnight less 14 days); every 3 days would leave one training moment.
  assert.equal(plan.horizonDays, 14);
  assert.equal(plan.stepDays, 1);
  assert.equal(plan.moments.length, 21); // days 7..27
  assert.equal(plan.moments[0], FROM + 7 * DAY);
  assert.equal(plan.holdoutFrom, FROM + 23 * DAY); // the latest 5 moments
  assert.deepEqual(plan.trainMoments, [7, 8, 9].map((d) => FROM + d * DAY)); // labels known by day 23
});

Deno.test("planTraining() keeps the configured step when the history is long enough for it", () => {
  const plan = planTraining(history(84), CONFIG);
  assert.ok(typeof plan !== "string");
  assert.deepEqual([plan.horizonDays, plan.stepDays], [14, 3]);
  assert.equal(plan.moments.at(-1), FROM + 69 * DAY);
});

Deno.test("planTraining() shortens the horizon on a month of history, and says what a shorter one needs", () => {
  const plan = planTraining(history(30), CONFIG);
  assert.ok(typeof plan !== "string");
  assert.deepEqual([plan.horizonDays, plan.stepDays, plan.trainMoments.length], [8, 1, 4]);
  assert.equal(
    planTraining(history(20), CONFIG),
    "19 days of dense history; training needs about 26 (a 7-day horizon on each side of a time split, after 7 days " +
      "of warm-up)",
  );
  assert.equal(planTraining(null, CONFIG), "no events yet; training needs about 26 days of history");
});

Deno.test("denseSpan() leaves out stray days far before and after the history, not a shop reopening", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const day = (d: string, events: number) =>
    db.query("insert into churn.days (day, events, last_ts) values ($1::date, $2, $1::date + interval '20 hours')", [
      d,
      events,
    ]);
  assert.equal(await denseSpan(db.env.db), null);
  await day("2023-05-01", 3); // an import with a wrong clock
  for (let d = 1; d <= 31; d++) await day(`2026-01-${String(d).padStart(2, "0")}`, 100);
  await day("2027-06-01", 2); // a device with a wrong clock
  assert.deepEqual(await denseSpan(db.env.db), {
    from: Date.parse("2026-01-01T00:00:00Z"),
    to: Date.parse("2026-01-31T20:00:00Z"),
  });
  // The shop reopens after three weeks closed: once the new run holds a real share of events, it is "now".
  for (let d = 21; d <= 28; d++) await day(`2026-02-${d}`, 60);
  assert.deepEqual(await denseSpan(db.env.db), {
    from: Date.parse("2026-01-01T00:00:00Z"),
    to: Date.parse("2026-02-28T20:00:00Z"),
  });
});
