/**
 * The offline truth about identity: which person each logged event belongs to in the end, worked out here from the
 * links the raw events carry (in log order: an id that has been the user of a link is known and never merged away,
 * any other id is merged once, into the first known user it is linked to), sharing no code with the host.
 */
import type { Sql } from "../../runtime/store/mod.ts";

/** Each linked id's final person, from the links the raw events carry. */
export async function finalPersons(sql: Pick<Sql, "query">): Promise<Map<string, string>> {
  const links = await sql.query<
    { type: string; user_id: string; sent: string | null; anon: string | null; prev: string | null }
  >(
    `select type, user_id, body->'properties'->>'original_user_id' as sent,
       body->'properties'->>'anonymous_id' as anon, body->'properties'->>'previous_id' as prev
     from host.events
     where type <> '$merge' and (body->'properties' ? 'anonymous_id' or body->'properties' ? 'previous_id')
     order by position`,
  );
  const parent = new Map<string, string>();
  const root = (id: string): string => parent.has(id) ? root(parent.get(id)!) : id;
  const signedIn = new Set<string>();
  for (const l of links) {
    const sent = l.sent ?? l.user_id;
    const other = l.type === "alias" ? l.prev ?? l.anon : l.anon;
    if (other === null || other === sent) continue;
    signedIn.add(sent).add(root(sent));
    if (signedIn.has(other) || parent.has(other)) continue;
    parent.set(other, root(sent));
  }
  return new Map([...parent.keys()].map((id) => [id, root(id)]));
}

/**
 * SQL for the raw log as the oracles count it, in place of `host.events` (a subquery named `log`): the sent events only (no merge entries),
 * each under its final person.
 */
export async function logByPerson(sql: Pick<Sql, "query">): Promise<string> {
  const persons = JSON.stringify(Object.fromEntries(await finalPersons(sql))).replaceAll("'", "''");
  return `(select e.position, e.event_id, e.type, coalesce(p.person, e.user_id) as user_id, e.ts, e.received_at,
      e.body || jsonb_build_object('user_id', coalesce(p.person, e.user_id)) as body
    from host.events e
    left join jsonb_each_text('${persons}'::jsonb) as p(id, person)
      on p.id = coalesce(e.body->'properties'->>'original_user_id', e.user_id)
    where e.type <> '$merge') as log`;
}
