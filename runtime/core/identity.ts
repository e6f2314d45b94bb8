/**
 * Identity: which ids are one person. An event that carries `properties.anonymous_id` (Segment's `identify`, or any
 * call made after it) links that id to its `user_id`; an `alias` event links `properties.previous_id` likewise. The
 * links are resolved in the log, under its append lock, so every process agrees on them in log order:
 * - An event sent with a linked id is logged under the person's id, the sent one kept as
 *   `properties.original_user_id`: plugins see the person from the link on.
 * - A new link appends a {@linkcode MERGE_TYPE} entry right after the event that made it, telling each plugin that
 *   what it keeps under `from` (the history before the link) now belongs to `into`. Since the entry has a position,
 *   a plugin commits it with its checkpoint like an event: effectively once, also across crashes and replays.
 * - Only an anonymous id is linked: an id that has been the user of a link (it signed in) is known, and never merged
 *   away, so nobody can take a signed-in user's history by naming their id as an anonymous one; and only once: a later
 *   link of the same id (a replay, a second user on a shared device) changes nothing. So a person is always a known id,
 *   every link points at it directly, and no chain or cycle can form.
 * @module
 */
import type { Event } from "./event.ts";
import type { LoggedEvent } from "./event_log.ts";
import type { Sql } from "../store/mod.ts";

/** The type of the log's merge entries; no sender's event can have it (types start with a letter). */
export const MERGE_TYPE = "$merge";

/** A link: what was kept under `from` now belongs to `into`. */
interface Link {
  from: string;
  into: string;
}

/** The id an event links to its user, if any: its `anonymous_id`, or an `alias` event's `previous_id`. */
function linkedId(e: Event): string | null {
  const id = e.type === "alias" ? e.properties.previous_id ?? e.properties.anonymous_id : e.properties.anonymous_id;
  return id === undefined || id === e.user_id ? null : id;
}

/** A merge as the log stores it: an event-shaped entry with the link's time, its id made of its position in the log. */
function mergeEntry({ from, into }: Link, timestamp: string, position: number): Event {
  return { event_id: `$merge@${position}`, type: MERGE_TYPE, user_id: into, timestamp, properties: { from } };
}

/**
 * Resolves the users of `events` (new to the log, in log order, to be logged after position `head`) and records their
 * links, in `tx` under the log's append lock. Answers the entries to log: each event under its person, each new link's
 * merge entry after it.
 */
export async function resolveIdentities(
  tx: Sql,
  events: Event[],
  head: number,
): Promise<{ entries: Event[]; merges: number }> {
  const ids = new Set<string>();
  for (const e of events) {
    ids.add(e.user_id);
    const linked = linkedId(e);
    if (linked !== null) ids.add(linked);
  }
  const rows = await tx.query<{ id: string; person: string; known: boolean }>(
    "select id, person, known from host.identities where id = any($1::text[])",
    [[...ids]],
  );
  const persons = new Map(rows.filter((r) => r.person !== r.id).map((r) => [r.id, r.person]));
  const known = new Set(rows.filter((r) => r.known).map((r) => r.id));
  const entries: Event[] = [];
  let merges = 0;
  const changed = new Map<string, { person: string; known: boolean }>(); // the rows to write, one per id
  for (const sent of events) {
    const linked = linkedId(sent);
    const person = persons.get(sent.user_id) ?? sent.user_id;
    const { original_user_id: claimed, ...properties } = sent.properties; // the host's field, never a sender's
    if (person !== sent.user_id) properties.original_user_id = sent.user_id;
    const e = person === sent.user_id && claimed === undefined ? sent : { ...sent, user_id: person, properties };
    entries.push(e);
    if (linked === null) continue;
    for (const id of new Set([sent.user_id, person])) { // the user of a link signed in: known from now on
      if (known.has(id)) continue;
      known.add(id);
      changed.set(id, { person: persons.get(id) ?? id, known: true });
    }
    if (known.has(linked) || persons.has(linked)) continue;
    persons.set(linked, person);
    changed.set(linked, { person, known: false });
    merges++;
    entries.push(mergeEntry({ from: linked, into: person }, e.timestamp, head + entries.length + 1));
  }
  if (changed.size > 0) {
    const rows = [...changed];
    await tx.query(
      `insert into host.identities (id, person, known)
       select * from unnest($1::text[], $2::text[], $3::bool[])
       on conflict (id) do update set person = excluded.person, known = excluded.known`,
      [rows.map(([id]) => id), rows.map(([, r]) => r.person), rows.map(([, r]) => r.known)],
    );
  }
  return { entries, merges };
}

/**
 * A logged event as it would be logged now: under the person its user was linked to since (a dead letter replayed
 * after a merge reaches the plugin under the person, as later events do).
 */
export async function resolveLogged(sql: Pick<Sql, "query">, row: LoggedEvent): Promise<LoggedEvent> {
  const event = JSON.parse(row.json) as Event;
  const [linked] = await sql.query<{ person: string }>(
    "select person from host.identities where id = $1 and person <> id",
    [event.user_id],
  );
  if (!linked) return row;
  const properties = { ...event.properties, original_user_id: event.user_id };
  return { ...row, json: JSON.stringify({ ...event, user_id: linked.person, properties }) };
}
