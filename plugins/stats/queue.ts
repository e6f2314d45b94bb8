/**
 * The write path of stats. Each batch is folded here, in the plugin's sandbox, into one row per minute and
 * type, per hour and user, per user, per session and per product: the SQL, which runs in the host and
 * serially for every plugin, then touches tens or hundreds of rows instead of one per event. Sums of amounts
 * are exact decimals (see `decimal.ts`), as they were when SQL summed every event.
 */
import { atMs, decimalSum, type Env, type Event, fold, key } from "@runtime/sdk";
import { hourOf, minuteOf } from "./buckets.ts";
import { recordFacts } from "./facts.ts";
import { recordDays } from "./retention.ts";
import { updateSessions } from "./sessions.ts";

type Db = Env["db"];

/** Adds one batch of (already deduplicated) events to every stats table. */
export async function queue(batch: Event[], env: Env): Promise<void> {
  const timed = batch.map((e) => ({ e, ms: Date.parse(e.timestamp) }));
  await count(env.db, timed);
  await updateSessions(env.db, batch);
  await countProducts(env.db, timed);
  await recordPurchases(env.db, batch.filter((e) => e.type === "purchase"));
  await countVideos(env.db, batch);
  await recordDays(env.db, batch);
  await recordFacts(env.db, batch);
}

/** An event and its instant (ms). */
type Timed = { e: Event; ms: number };

/** A purchase's amount (0 when it gives none); every other event adds no revenue. */
const amountOf = (e: Event) => e.type === "purchase" ? e.properties.amount ?? 0 : null;

/**
 * The counters, in one statement: events and revenue per minute and type, which users were active in which
 * minutes (one row per hour and user), and per-user totals.
 */
async function count(db: Db, batch: Timed[]): Promise<void> {
  const minutes = fold(
    batch,
    ({ e, ms }) => key(minuteOf(ms), e.type),
    ({ e, ms }) => ({ minute: minuteOf(ms), type: e.type, events: 0, amounts: [] as number[] }),
    (c, { e }) => {
      c.events++;
      const amount = amountOf(e);
      if (amount !== null) c.amounts.push(amount);
    },
  );
  // Bit m of `minutes`: active in minute m of the hour (a BigInt: bits past 52 do not fit a JS number).
  const active = fold(
    batch,
    ({ e, ms }) => key(hourOf(ms), e.user_id),
    ({ e, ms }) => ({ hour: hourOf(ms), user: e.user_id, minutes: 0n }),
    (a, { ms }) => a.minutes |= 1n << BigInt((minuteOf(ms) - a.hour) / 60),
  );
  const users = fold(
    batch,
    ({ e }) => e.user_id,
    ({ e, ms }) => ({ user: e.user_id, events: 0, amounts: [] as number[], first: ms, last: ms }),
    (u, { e, ms }) => {
      u.events++;
      const amount = amountOf(e);
      if (amount !== null) u.amounts.push(amount);
      u.first = Math.min(u.first, ms);
      u.last = Math.max(u.last, ms);
    },
  );
  await db.query(
    `with minutes as (
       insert into minute_counts (minute, type, events, revenue)
       select to_timestamp(minute), type, events, revenue
       from unnest($1::int8[], $2::text[], $3::int4[], $4::numeric[]) as c(minute, type, events, revenue)
       on conflict (minute, type) do update
         set events = minute_counts.events + excluded.events, revenue = minute_counts.revenue + excluded.revenue
     ), active as (
       insert into user_hours (hour, user_id, minutes)
       select to_timestamp(hour), user_id, minutes
       from unnest($5::int8[], $6::text[], $7::int8[]) as a(hour, user_id, minutes)
       on conflict (hour, user_id) do update set minutes = user_hours.minutes | excluded.minutes
         where user_hours.minutes | excluded.minutes <> user_hours.minutes
     )
     insert into users (user_id, events, purchases, spent, first_seen, last_seen)
     select user_id, events, purchases, spent, ${atMs("first_ms")}, ${atMs("last_ms")}
     from unnest($8::text[], $9::int4[], $10::int4[], $11::numeric[], $12::int8[], $13::int8[])
       as u(user_id, events, purchases, spent, first_ms, last_ms)
     on conflict (user_id) do update set
       events = users.events + excluded.events,
       purchases = users.purchases + excluded.purchases,
       spent = users.spent + excluded.spent,
       first_seen = least(users.first_seen, excluded.first_seen),
       last_seen = greatest(users.last_seen, excluded.last_seen)`,
    [
      minutes.map((c) => c.minute),
      minutes.map((c) => c.type),
      minutes.map((c) => c.events),
      minutes.map((c) => decimalSum(c.amounts)),
      active.map((a) => a.hour),
      active.map((a) => a.user),
      active.map((a) => String(a.minutes)),
      users.map((u) => u.user),
      users.map((u) => u.events),
      users.map((u) => u.amounts.length),
      users.map((u) => decimalSum(u.amounts)),
      users.map((u) => u.first),
      users.map((u) => u.last),
    ],
  );
}

/** The purchase lines of a batch that name a product, each with its purchase and the UTC day of it (epoch seconds). */
function productLines(batch: Timed[]) {
  return batch.filter(({ e }) => e.type === "purchase").flatMap(({ e, ms }) =>
    (e.properties.items ?? []).filter((i) => typeof i.product_id === "string").map((i) => ({
      day: Math.floor(ms / 86_400_000) * 86_400,
      event: e.event_id,
      product: i.product_id,
      price: i.price,
      quantity: i.quantity,
    }))
  );
}

/**
 * Product views and adds to cart in total and per minute, and per day with the purchases' lines: one statement, whose
 * `product_days` rows (shared by every runner) are written once, in key order, so that two batches never wait on each
 * other's rows in a cycle.
 */
async function countProducts(db: Db, batch: Timed[]): Promise<void> {
  const touches = batch.filter(({ e }) =>
    (e.type === "product_view" || e.type === "add_to_cart") && typeof e.properties.product_id === "string"
  );
  const lines = productLines(batch);
  if (touches.length === 0 && lines.length === 0) return;
  // One row per product and category: which category wins is left to SQL's max(), as text sorts there.
  const products = fold(
    touches,
    ({ e }) => key(e.properties.product_id, e.properties.category),
    ({ e }) => ({ id: e.properties.product_id!, category: e.properties.category ?? null, views: 0, adds: 0 }),
    (p, { e }) => e.type === "product_view" ? p.views++ : p.adds++,
  );
  // Per minute, and from them per day (in SQL); sorted, as other runners upsert the same rows.
  const minutes = fold(
    touches,
    ({ e, ms }) => key(minuteOf(ms), e.properties.product_id),
    ({ e, ms }) => ({ minute: minuteOf(ms), id: e.properties.product_id!, views: 0, adds: 0 }),
    (v, { e }) => e.type === "product_view" ? v.views++ : v.adds++,
  );
  minutes.sort((a, b) => a.minute - b.minute || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  products.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  await db.query(
    `with counts as (
       insert into product_counts (product_id, category, views, adds)
       select product_id, max(category), sum(views), sum(adds)
       from unnest($1::text[], $2::text[], $3::int4[], $4::int4[]) as t(product_id, category, views, adds)
       group by product_id order by product_id
       on conflict (product_id) do update set
         category = coalesce(excluded.category, product_counts.category),
         views = product_counts.views + excluded.views,
         adds = product_counts.adds + excluded.adds
     ), by_minute as (
       insert into product_minutes (minute, product_id, views, adds)
       select to_timestamp(minute), product_id, views, adds
       from unnest($5::int8[], $6::text[], $7::int4[], $8::int4[]) as v(minute, product_id, views, adds)
       on conflict (minute, product_id) do update
         set views = product_minutes.views + excluded.views, adds = product_minutes.adds + excluded.adds
     )
     insert into product_days (day, product_id, views, adds, purchases, revenue)
     select day, product_id, sum(views), sum(adds), sum(purchases), sum(revenue)
     from (
       select (to_timestamp(minute) at time zone 'UTC')::date as day, product_id, views, adds, 0 as purchases,
         0::numeric as revenue
       from unnest($5::int8[], $6::text[], $7::int4[], $8::int4[]) as v(minute, product_id, views, adds)
       union all
       select (to_timestamp(day) at time zone 'UTC')::date, product_id, 0, 0, count(distinct event_id),
         sum(price * quantity)
       from unnest($9::int8[], $10::text[], $11::text[], $12::numeric[], $13::int4[])
         as l(day, event_id, product_id, price, quantity)
       group by day, product_id
     ) d
     group by day, product_id order by day, product_id
     on conflict (day, product_id) do update set
       views = product_days.views + excluded.views, adds = product_days.adds + excluded.adds,
       purchases = product_days.purchases + excluded.purchases, revenue = product_days.revenue + excluded.revenue`,
    [
      products.map((p) => p.id),
      products.map((p) => p.category),
      products.map((p) => p.views),
      products.map((p) => p.adds),
      minutes.map((v) => v.minute),
      minutes.map((v) => v.id),
      minutes.map((v) => v.views),
      minutes.map((v) => v.adds),
      lines.map((l) => l.day),
      lines.map((l) => l.event),
      lines.map((l) => l.product),
      lines.map((l) => l.price),
      lines.map((l) => l.quantity),
    ],
  );
}

/** Every purchase with its lines, as facts: one statement. */
async function recordPurchases(db: Db, purchases: Event[]): Promise<void> {
  if (purchases.length === 0) return;
  const lines = purchases.flatMap((e) =>
    (e.properties.items ?? []).filter((i) => typeof i.product_id === "string").map((i, line) => ({ e, i, line }))
  );
  await db.query(
    `with bought as (
       insert into purchases (event_id, user_id, ts, amount, country, device)
       select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::text[], $6::text[])
     )
     insert into purchase_items (event_id, line, product_id, price, quantity)
     select * from unnest($7::text[], $8::int4[], $9::text[], $10::numeric[], $11::int4[])`,
    [
      purchases.map((e) => e.event_id),
      purchases.map((e) => e.user_id),
      purchases.map((e) => e.timestamp),
      purchases.map((e) => e.properties.amount ?? 0),
      purchases.map((e) => e.properties.country ?? null),
      purchases.map((e) => e.properties.device ?? null),
      lines.map((l) => l.e.event_id),
      lines.map((l) => l.line),
      lines.map((l) => l.i.product_id),
      lines.map((l) => l.i.price),
      lines.map((l) => l.i.quantity),
    ],
  );
}

const VIDEO_TYPES = new Set(["video_play", "video_progress", "video_complete"]);

/** Per video view: plays, the furthest position reached, the duration, and whether it completed. */
async function countVideos(db: Db, batch: Event[]): Promise<void> {
  const views = fold(
    batch.filter((e) => VIDEO_TYPES.has(e.type) && typeof e.properties.video_id === "string"),
    (e) => key(e.properties.video_id, e.user_id, e.session_id ?? ""),
    (e) => ({
      video: e.properties.video_id!,
      user: e.user_id,
      session: e.session_id ?? "",
      plays: 0,
      position: 0,
      duration: null as number | null,
      completed: false,
      first: Infinity,
    }),
    // Maxima of the given numbers are exact in JS: the largest is passed on as it was given.
    (v, e) => {
      if (e.type === "video_play") v.plays++;
      if (e.type === "video_complete") v.completed = true;
      v.first = Math.min(v.first, Date.parse(e.timestamp));
      v.position = Math.max(v.position, e.properties.position_s ?? 0);
      const d = e.properties.duration_s;
      if (d !== undefined && (v.duration === null || d > v.duration)) v.duration = d;
    },
  );
  if (views.length === 0) return;
  await db.query(
    `insert into video_views (video_id, user_id, session_key, plays, max_position, duration, completed, first_at)
     select video_id, user_id, session_key, plays, max_position, duration, completed, ${atMs("first_ms")}
     from unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::numeric[], $6::numeric[], $7::boolean[], $8::int8[])
       as v(video_id, user_id, session_key, plays, max_position, duration, completed, first_ms)
     on conflict (video_id, user_id, session_key) do update set
       plays = video_views.plays + excluded.plays,
       max_position = greatest(video_views.max_position, excluded.max_position),
       duration = greatest(video_views.duration, excluded.duration),
       completed = video_views.completed or excluded.completed,
       -- A view stored before first_at was kept began at an unknown time: it stays out of ranges.
       first_at = case when video_views.first_at is not null then least(video_views.first_at, excluded.first_at) end`,
    [
      views.map((v) => v.video),
      views.map((v) => v.user),
      views.map((v) => v.session),
      views.map((v) => v.plays),
      views.map((v) => v.position),
      views.map((v) => v.duration),
      views.map((v) => v.completed),
      views.map((v) => v.first),
    ],
  );
}
