import assert from "node:assert/strict";
import { type Event, validateEvent } from "../../runtime/core/event.ts";
import { HARD_NEGATIVES, OTHER_FRAUD_PATTERNS, otherWorld } from "./other_world.ts";

const START = new Date("2026-01-05T00:00:00Z");
const MINUTE = 60_000;
const DAY = 86_400_000;
const END = START.getTime() + 90 * DAY;
const world = otherWorld({ seed: 1, users: 500, start: START, days: 90 });
const { labels } = world;
const ms = (e: Event) => Date.parse(e.timestamp);

/** Each user's events, once each (duplicates dropped), in time order. */
function timelines(events: Event[]): Map<string, Event[]> {
  const seen = new Set<string>();
  const byUser = new Map<string, Event[]>();
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    const list = byUser.get(e.user_id) ?? byUser.set(e.user_id, []).get(e.user_id)!;
    list.push(e);
  }
  for (const list of byUser.values()) list.sort((a, b) => ms(a) - ms(b));
  return byUser;
}
const users = timelines(world.events);
const purchases = [...users.values()].flat().filter((e) => e.type === "purchase");
const purchasesOf = (user: string) => users.get(user)!.filter((e) => e.type === "purchase");
const usersWith = (pattern: string) => Object.keys(labels.fraudUsers).filter((u) => labels.fraudUsers[u] === pattern);

Deno.test("otherWorld() makes the same world from the same seed and another from another seed", () => {
  const small = (seed: number) => JSON.stringify(otherWorld({ seed, users: 80, start: START, days: 30 }));
  assert.equal(small(7), small(7));
  assert.notEqual(small(7), small(8));
  const prefixed = otherWorld({ seed: 7, users: 80, start: START, days: 30, userPrefix: "acme-" });
  assert.ok(prefixed.events.every((e) => e.user_id.startsWith("acme-")));
});

Deno.test("otherWorld() rejects a user count that is not a positive integer", () => {
  assert.throws(() => otherWorld({ seed: 1, users: 0, start: START, days: 30 }), RangeError);
  assert.throws(() => otherWorld({ seed: 1, users: 10, start: START, days: 0 }), RangeError);
});

Deno.test("otherWorld() at 500 users over 90 days makes 50,000 to 150,000 events", () => {
  assert.ok(world.events.length >= 50_000 && world.events.length <= 150_000, `${world.events.length} events`);
  assert.equal(users.size, 500);
});

Deno.test("every event passes validateEvent() unchanged and follows the event rules", () => {
  const known = ["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase"]
    .concat(["login", "logout", "signup", "video_play", "video_progress", "video_complete"]);
  for (const e of world.events) {
    const result = validateEvent(e);
    assert.ok(result.ok, `${e.event_id}: ${!result.ok && result.error}`);
    assert.deepEqual(result.event, e);
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(known.includes(e.type), e.type);
    assert.ok(["ios", "android", "web-desktop", "web-mobile"].includes(e.properties.device!), e.event_id);
    assert.match(e.properties.country!, /^[A-Z]{2}$/);
    if (e.type !== "purchase") continue;
    const amount = e.properties.amount!;
    assert.equal(e.properties.currency, "USD");
    assert.equal(Math.round(amount * 100) / 100, amount);
    const items = e.properties.items;
    if (items) assert.equal(Math.round(items.reduce((s, i) => s + i.price * i.quantity, 0) * 100) / 100, amount);
  }
});

Deno.test("about 2% of events are sent twice under the same event_id, some copies far from the original", () => {
  const where = new Map<string, number[]>();
  world.events.forEach((e, i) => where.set(e.event_id, [...(where.get(e.event_id) ?? []), i]));
  const twice = [...where.values()].filter((at) => at.length === 2);
  assert.ok(twice.length > 0.01 * where.size && twice.length < 0.03 * where.size, `${twice.length} duplicates`);
  for (const [a, b] of twice) assert.deepEqual(world.events[a], world.events[b]);
  assert.ok(twice.some(([a, b]) => b - a > 1_000));
  assert.ok(twice.some(([a, b]) => b - a < 50));
});

Deno.test("events arrive in time order but for a few late or skewed ones", () => {
  const behind = world.events.filter((e, i) => i > 0 && ms(e) < ms(world.events[i - 1])).length;
  assert.ok(behind > 100 && behind < 0.05 * world.events.length, `${behind} out of order`);
});

Deno.test("each user's first event is a signup, and about 30% of users send no session_id", () => {
  for (const [user, list] of users) assert.equal(list[0].type, "signup", user);
  const without = [...users.values()].filter((list) => list.every((e) => e.session_id === undefined)).length;
  assert.ok(without > 100 && without < 200, `${without} users without session_id`);
});

Deno.test("each fraud pattern has at least 3 accounts, and every fraud event is a purchase of such an account", () => {
  for (const pattern of OTHER_FRAUD_PATTERNS) assert.ok(usersWith(pattern).length >= 3, pattern);
  const byId = new Map(purchases.map((e) => [e.event_id, e]));
  for (const [id, pattern] of Object.entries(labels.fraudEvents)) {
    assert.equal(labels.fraudUsers[byId.get(id)!.user_id], pattern, id);
  }
  for (const user of Object.keys(labels.fraudUsers)) {
    assert.ok(purchasesOf(user).some((e) => labels.fraudEvents[e.event_id]), user);
  }
});

Deno.test("a takeover logs in from a country and device the account never used, then buys within the hour", () => {
  for (const user of usersWith("takeover_new_country")) {
    const list = users.get(user)!;
    const first = list.find((e) => labels.fraudEvents[e.event_id])!;
    const login = list.findLast((e) => e.type === "login" && ms(e) <= ms(first))!;
    assert.ok(ms(first) - ms(login) <= 60 * MINUTE, user);
    assert.ok(ms(login) - ms(list[0]) >= 14 * DAY, `${user} had two weeks of history`);
    const before = list.filter((e) => ms(e) < ms(login));
    assert.ok(!before.some((e) => e.properties.country === login.properties.country), user);
    assert.ok(!before.some((e) => e.properties.device === login.properties.device), user);
  }
});

Deno.test("slow card testing charges 0.50–4.00 at least 20 minutes apart; a midsize burst 150–600 every 2–8 minutes", () => {
  for (const user of usersWith("slow_card_testing")) {
    const small = purchasesOf(user).filter((e) => labels.fraudEvents[e.event_id] && e.properties.amount! <= 4);
    assert.ok(small.length >= 6 && small.length <= 15, user);
    assert.ok(small.every((e) => e.properties.amount! >= 0.5));
    small.slice(1).forEach((e, i) => assert.ok(ms(e) - ms(small[i]) >= 20 * MINUTE, user));
  }
  for (const user of usersWith("midsize_burst")) {
    const burst = purchasesOf(user).filter((e) => labels.fraudEvents[e.event_id]);
    assert.ok(burst.length >= 4 && burst.length <= 8, user);
    assert.ok(burst.every((e) => e.properties.amount! >= 150 && e.properties.amount! <= 600), user);
    burst.slice(1).forEach((e, i) => {
      const gap = ms(e) - ms(burst[i]);
      assert.ok(gap >= 2 * MINUTE && gap <= 8 * MINUTE, user);
    });
  }
});

Deno.test("a young store's outlier is a new account's first order in the first 10 days, above all before it", () => {
  for (const user of usersWith("young_store_outlier")) {
    const list = users.get(user)!;
    const order = purchasesOf(user)[0];
    assert.ok(labels.fraudEvents[order.event_id]);
    assert.ok(ms(order) < START.getTime() + 10 * DAY, user);
    assert.ok(ms(order) - ms(list[0]) < 60 * MINUTE, `${user} signed up within the hour`);
    const earlier = purchases.filter((e) => ms(e) < ms(order) && !labels.fraudEvents[e.event_id]);
    assert.ok(earlier.length > 0, user);
    assert.ok(order.properties.amount! > 1.1 * Math.max(...earlier.map((e) => e.properties.amount!)), user);
  }
});

Deno.test("hard negatives (B2B, travellers, new phones, gifts, digital goods) are never labelled fraud", () => {
  for (const kind of HARD_NEGATIVES) {
    const who = Object.keys(labels.hardNegatives).filter((u) => labels.hardNegatives[u] === kind);
    assert.ok(who.length >= 3, kind);
    for (const user of who) {
      assert.equal(labels.fraudUsers[user], undefined, user);
      assert.ok(purchasesOf(user).every((e) => !labels.fraudEvents[e.event_id]), user);
    }
  }
  // B2B buyers, found by behaviour: three orders or more, every one of them 1,000 or more.
  const b2b = [...users.keys()].filter((u) => {
    const orders = purchasesOf(u);
    return orders.length >= 3 && orders.every((e) => e.properties.amount! >= 1_000);
  });
  assert.ok(b2b.length >= 3);
  assert.ok(b2b.every((u) => labels.fraudUsers[u] === undefined));
  // Travellers buy abroad on a device they used at home.
  const travellers = Object.keys(labels.hardNegatives).filter((u) => labels.hardNegatives[u] === "traveller");
  for (const user of travellers) {
    const list = users.get(user)!;
    const home = list[0].properties.country;
    const abroad = purchasesOf(user).find((e) => e.properties.country !== home)!;
    assert.ok(abroad, user);
    assert.ok(list.some((e) => ms(e) < ms(abroad) && e.properties.device === abroad.properties.device), user);
  }
});

Deno.test("every leaver's last event is at labels.churned, at least two weeks before the end", () => {
  const churned = Object.entries(labels.churned);
  assert.ok(churned.length >= 50, `${churned.length} leavers`);
  for (const [user, last] of churned) {
    assert.equal(users.get(user)!.at(-1)!.timestamp, last);
    assert.ok(Date.parse(last) <= END - 14 * DAY, user);
  }
});

Deno.test("some users who stay are silent for 10 days or more and come back", () => {
  const comeBack = [...users].filter(([user, list]) =>
    labels.churned[user] === undefined && list.some((e, i) => i > 0 && ms(e) - ms(list[i - 1]) >= 10 * DAY)
  );
  assert.ok(comeBack.length >= 30, `${comeBack.length} users come back`);
});

Deno.test("strays are dated 1–3 years before the start or up to a year after the end, and only strays are", () => {
  assert.ok(world.events.every((e) => ms(e) >= START.getTime() && ms(e) <= END));
  const withStrays = otherWorld({ seed: 3, users: 100, start: START, days: 30, strays: 10 });
  const end = START.getTime() + 30 * DAY;
  const outside = withStrays.events.filter((e) => ms(e) < START.getTime() || ms(e) > end);
  assert.equal(outside.length, 10);
  const old = outside.filter((e) => ms(e) < START.getTime());
  assert.ok(old.length > 0 && old.every((e) => ms(e) <= START.getTime() - 365 * DAY));
  assert.ok(old.every((e) => ms(e) >= START.getTime() - 3 * 366 * DAY));
  const future = outside.filter((e) => ms(e) > end);
  assert.ok(future.length > 0 && future.every((e) => ms(e) <= end + 366 * DAY));
});

Deno.test("a young store: fewer than 80 purchases in the first 7 days, several times more in the last 7", () => {
  const inWeek = (from: number) => purchases.filter((e) => ms(e) >= from && ms(e) < from + 7 * DAY).length;
  const first = inWeek(START.getTime()), last = inWeek(END - 7 * DAY);
  assert.ok(first > 0 && first < 80, `${first} purchases in the first week`);
  assert.ok(last > 3 * first, `${last} purchases in the last week`);
});

Deno.test("a handful of bots send bursts of 50 page views or more within 10 minutes", () => {
  const bots = [...users].filter(([, list]) => {
    const views = list.filter((e) => e.type === "page_view");
    return views.some((e, i) => i >= 49 && ms(e) - ms(views[i - 49]) <= 10 * MINUTE);
  });
  assert.ok(bots.length >= 2 && bots.length <= 10, `${bots.length} bots`);
});

Deno.test("seasons: the sale week (days 49–55) sells twice the week before, the slow week (days 72–78) less", () => {
  const inWeek = (day: number) =>
    purchases.filter((e) => ms(e) >= START.getTime() + day * DAY && ms(e) < START.getTime() + (day + 7) * DAY).length;
  assert.ok(inWeek(49) > 1.5 * inWeek(42), `${inWeek(49)} in the sale week, ${inWeek(42)} the week before`);
  assert.ok(inWeek(72) < inWeek(79), `${inWeek(72)} in the slow week, ${inWeek(79)} the week after`);
  const views = [...users.values()].flat().filter((e) => e.type === "page_view" || e.type === "product_view");
  const weekend = views.filter((e) => [0, 6].includes(new Date(e.timestamp).getUTCDay())).length;
  assert.ok(weekend / views.length > 0.31, `weekends hold ${weekend / views.length} of the views, 2/7 would be 0.29`);
});

Deno.test("some users come back on the same weekday, week after week", () => {
  const weekly = [...users.values()].filter((list) => {
    const visits = list.filter((e, i) => i === 0 || ms(e) - ms(list[i - 1]) > 30 * MINUTE);
    const perDay = [0, 1, 2, 3, 4, 5, 6].map((d) =>
      visits.filter((e) => new Date(e.timestamp).getUTCDay() === d).length
    );
    return visits.length >= 6 && Math.max(...perDay) >= 0.6 * visits.length;
  });
  assert.ok(weekly.length >= 20, `${weekly.length} weekly users`);
});
