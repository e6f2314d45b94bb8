/**
 * Identity across the four shipped plugins: signed-out browsing linked at login (late, out of order and replayed), an
 * alias joining two known users, a link refused, and fraud judging a person with the history of their device.
 */
import assert from "node:assert/strict";
import type { Event } from "../runtime/core/event.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import { expectedFeatures } from "./oracles/churn.ts";
import { expectedSessions, expectedSummary } from "./oracles/funnel.ts";
import { finalPersons, logByPerson } from "./oracles/persons.ts";
import { expectedOverview, expectedSessionDistributions, expectedUser } from "./oracles/stats.ts";
import {
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  testEachBackend,
  waitForCatchUp,
} from "./support/harness.ts";

const PLUGINS = new URL("plugins/", REPO);
const SHIPPED = ["stats", "funnel", "churn", "fraud"].map((name) => ({ name, from: PLUGINS }));

const at = (ms: number) => new Date(ms).toISOString();

testEachBackend("identify and alias make one person in every plugin, history before the link included", async (b) => {
  const rt = await startTestRuntime(b, { pluginsDir: await pluginsFolder(SHIPPED) });
  try {
    const start = Date.parse("2026-06-01T08:00:00Z");
    const events = new Simulator({ seed: 31, users: 120, anonymous: 0.4, start: new Date(start) }).take(3000);
    const random = rng(5);
    // Some signed-out events arrive after the login that links them (they are logged under the person at once).
    const late = events.filter((e) => e.user_id.startsWith("anon-") && random() < 0.15);
    const onTime = events.filter((e) => !late.includes(e));
    for (let i = 0; i < onTime.length; i += 250) {
      const batch = onTime.slice(i, i + 250);
      const replayed = batch.filter((e) => e.type === "login" || random() < 0.05); // links sent again
      assert.deepEqual((await postJson(rt, "/v1/events", [...batch, ...replayed])).body.rejected, []);
    }
    await waitForCatchUp(rt);
    assert.deepEqual((await postJson(rt, "/v1/events", late)).body.rejected, []);

    // A guest id with a history (it never signed in) joins a signed-in user by alias. Links that name a signed-in user
    // as the anonymous side are refused, whoever sends them, and so is a second user on a linked device.
    const linked = events.find((e) => e.type === "login" && e.properties.anonymous_id !== undefined)!;
    const signedIn = new Set(events.filter((e) => e.properties.anonymous_id !== undefined).map((e) => e.user_id));
    const [target, other] = [...signedIn].filter((u) => u !== linked.user_id);
    const guest = events.find((e) => e.user_id.startsWith("u") && !signedIn.has(e.user_id))!.user_id;
    const end = Date.parse(events.at(-1)!.timestamp);
    const link = (id: string, type: string, user: string, properties: Event["properties"], ms: number): Event => ({
      event_id: id,
      type,
      user_id: user,
      timestamp: at(end + ms),
      properties,
    });
    const links: Event[] = [
      link("alias-1", "alias", target, { previous_id: guest }, 1000),
      link("identify-other", "identify", "u-other", { anonymous_id: linked.properties.anonymous_id }, 2000),
      link("hijack-1", "identify", "mallory", { anonymous_id: target }, 3000),
      link("hijack-2", "alias", "mallory", { previous_id: other }, 4000),
    ];
    assert.deepEqual((await postJson(rt, "/v1/events", links)).body, { accepted: 4, rejected: [] });

    // Fraud: a device buys four times in 30 s (the fourth is flagged), then its owner signs in.
    const t = end + 3_600_000;
    const buy = (i: number): Event => ({
      event_id: `fx-${i}`,
      type: "purchase",
      user_id: "anon-fx",
      timestamp: at(t + i * 10_000),
      properties: { amount: 30, currency: "EUR", country: "DE", device: "desktop" },
    });
    const identify = (id: string, user: string, anonymous: string, ms: number): Event => ({
      event_id: id,
      type: "identify",
      user_id: user,
      timestamp: at(ms),
      properties: { anonymous_id: anonymous },
    });
    const fraudEvents = [0, 1, 2, 3].map(buy);
    assert.equal((await postJson(rt, "/v1/events", fraudEvents)).body.accepted, 4);
    await waitForCatchUp(rt);
    const alertOf = async () =>
      (await getJson(rt, "/api/fraud/alerts?limit=1000")).body.alerts.find((a: Json) => a.event_id === "fx-3");
    assert.equal((await alertOf()).user_id, "anon-fx");
    assert.equal(
      (await postJson(rt, "/v1/events", [identify("fx-login", "fx-person", "anon-fx", t + 40_000)]))
        .body.accepted,
      1,
    );
    await waitForCatchUp(rt);

    // The links as an independent reading of the raw events sees them: every merged id has a person.
    const persons = await finalPersons(rt.store);
    assert.equal(persons.get(guest), target);
    assert.equal(persons.get(linked.properties.anonymous_id!), linked.user_id); // not u-other
    assert.equal(persons.get(target), undefined); // not mallory's
    assert.equal(persons.get(other), undefined);
    assert.equal(persons.get("anon-fx"), "fx-person");
    const [{ merges }] = await rt.store.query<{ merges: number }>(
      "select count(*)::int8 as merges from host.events where type = '$merge'",
    );
    assert.equal(merges, persons.size); // each link merged once, replays and the refused link none
    assert.ok(persons.size > 20, `${persons.size} ids linked`);

    // stats and funnel: equal to the raw log counted per person.
    assert.deepEqual((await getJson(rt, "/api/stats/overview")).body, await expectedOverview(rt.store, null, null));
    assert.deepEqual((await getJson(rt, "/api/stats/sessions")).body, await expectedSessionDistributions(rt.store));
    assert.deepEqual((await getJson(rt, "/api/funnel/summary")).body, await expectedSummary(rt.store, null, null));
    const merged = [...new Set(persons.values())].filter((p) => p !== "fx-person").slice(0, 6);
    for (const person of [target, ...merged]) {
      const user = (await getJson(rt, `/api/stats/users/${person}`)).body;
      const { engagement_score: _, segment: __, ...numbers } = user;
      const expected = await expectedUser(rt.store, person);
      assert.deepEqual(numbers, expected, `stats of ${person}`);
      const sent = events.filter((e) => e.user_id === person).length + links.filter((e) => e.user_id === person).length;
      assert.ok(user.events > sent, `${person}: ${user.events} events with the merged history, ${sent} sent`);
      const sessions = (await getJson(rt, `/api/funnel/users/${person}/sessions?limit=200`)).body.sessions;
      assert.deepEqual(
        sessions.map((s: Json) => [s.session_key, s.events, s.timeline.map((e: Json) => e.event_id)]),
        (await expectedSessions(rt.store, person)).map((s) => [s.session_key, s.events, s.timeline]),
        `funnel sessions of ${person}`,
      );
      const churn = (await getJson(rt, `/api/churn/users/${person}`)).body;
      for (const [name, value] of Object.entries(await expectedFeatures(rt.store, person, churn.as_of))) {
        assert.equal(churn.features[name], value, `churn ${name} of ${person}`);
      }
    }
    for (const gone of [guest, "anon-fx", [...persons.keys()].find((id) => id.startsWith("anon-u"))]) {
      assert.equal((await getJson(rt, `/api/stats/users/${gone}`)).status, 404, `${gone} is merged away`);
    }
    const [{ n }] = await rt.store.query<{ n: number }>(
      `select count(distinct user_id)::int8 as n from ${await logByPerson(rt.store)}`,
    );
    const segments = (await getJson(rt, "/api/stats/segments")).body.segments;
    assert.equal(segments.reduce((sum: number, s: Json) => sum + s.users, 0), n); // one user per person

    // fraud: the alert follows its person; a candidate of the person (or of the device) is judged with its purchases.
    assert.equal((await alertOf()).user_id, "fx-person");
    const score = async (user: string) =>
      (await postJson(rt, "/api/fraud/score", {
        user_id: user,
        timestamp: at(t + 60_000),
        properties: { amount: 30, country: "DE", device: "desktop" },
      })).body;
    const person = await score("fx-person");
    assert.ok(person.reasons.includes("velocity: 5 purchases within 120 s (more than 3)"), JSON.stringify(person));
    assert.deepEqual(await score("anon-fx"), person);
    const stranger = await score("fx-stranger");
    assert.ok(!stranger.reasons.some((r: string) => r.includes("purchases within")), JSON.stringify(stranger));
  } finally {
    await rt.stop();
  }
});
