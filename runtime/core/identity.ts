/**
 * Identity: which ids are one person. An event that carries `properties.anonymous_id` (Segment's `identify`, or any
 * call made after it) links that id to its `user_id`; an `alias` event links `properties.previous_id` likewise. The
 * links are resolved in the log, under its append lock, so every process agrees on them in log order:
 * - An event sent with a linked id is logged under the person's id, the sent one kept as
 *   `properties.original_user_id`: plugins see the person from the link on.
 * - A new link appends a {@linkcode MERGE_TYPE} entry right after the event that made it, telling each plugin that
 *   what it keeps under `from` (the history before the link) now belongs to `into`. Since the entry has a position,
 *   a plugin commits it with its checkpoint like an event: effectively once, also across crashes and replays.
 * - An id is linked once: a later link of the same id (a replay, or a second user on a shared device) is ignored,
 *   and a link that would make a cycle too. Linking a person's id moves everyone linked to it along.
 * @module
 */
import type { Event } from "./event.ts";
import type { Sql } from "../store/mod.ts";

/** The type of the log's merge entries; no sender's event can have it (types start with a letter). */
export const MERGE_TYPE = "$merge";

/** A link: what was kept under `from` now belongs to `into`. */
export interface Link {
  from: string;
  into: string;
}

/** The id an event links to its user, if any: its `anonymous_id`, or an `alias` event's `previous_id`. */
export function linkedId(e: Event): string | null {
  const id = e.type === "alias" ? e.properties.previous_id ?? e.properties.anonymous_id : e.properties.anonymous_id;
  return id === undefined || id === e.user_id ? null : id;
}

/** A merge as the log stores it: an event-shaped entry with the link's time, its id derived from `from`. */
export function mergeEntry({ from, into }: Link, timestamp: string): Event {
  return { event_id: `$merge:${from}`, type: MERGE_TYPE, user_id: into, timestamp, properties: { from } };
}

/**
 * Resolves the users of `events` (new to the log, in log order) and records their links, in `tx` under the log's
 * append lock. Answers the entries to log: each event under its person, each new link's merge entry after it.
 */
export async function resolveIdentities(tx: Sql, events: Event[]): Promise<{ entries: Event[]; merges: number }> {
  const ids = new Set<string>();
  for (const e of events) {
    ids.add(e.user_id);
    const linked = linkedId(e);
    if (linked !== null) ids.add(linked);
  }
  const known = new Map(
    (await tx.query<{ id: string; person: string }>(
      "select id, person from host.identities where id = any($1::text[])",
      [[...ids]],
    )).map((r) => [r.id, r.person]),
  );
  const personOf = (id: string): string => {
    for (let p = known.get(id); p !== undefined; p = known.get(id)) id = p;
    return id;
  };
  const entries: Event[] = [];
  const links: Link[] = [];
  for (const sent of events) {
    const linked = linkedId(sent);
    const person = personOf(sent.user_id);
    const { original_user_id: claimed, ...properties } = sent.properties; // the host's field, never a sender's
    if (person !== sent.user_id) properties.original_user_id = sent.user_id;
    const e = person === sent.user_id && claimed === undefined ? sent : { ...sent, user_id: person, properties };
    entries.push(e);
    if (linked === null || known.has(linked) || person === linked) continue;
    known.set(linked, person);
    links.push({ from: linked, into: person });
    entries.push(mergeEntry({ from: linked, into: person }, e.timestamp));
  }
  if (links.length > 0) {
    // Stored links point at a person, never along a chain: whoever was linked to a merged id follows it.
    const froms = links.map((l) => l.from);
    const persons = froms.map(personOf);
    await tx.query(
      `update host.identities i set person = m.person from unnest($1::text[], $2::text[]) as m(id, person)
       where i.person = m.id`,
      [froms, persons],
    );
    await tx.query(
      "insert into host.identities (id, person) select * from unnest($1::text[], $2::text[])",
      [froms, persons],
    );
  }
  return { entries, merges: links.length };
}
