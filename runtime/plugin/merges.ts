/**
 * A batch as the sandbox hands it to a plugin: its merges (the log's merge entries, see `identity.ts`) to `merge`
 * first, then its events to `queue`, those of an id the batch merges away already under the person. The plugin's state
 * ends as if every event had come after the links: what `merge` moves and what `queue` adds are the same rows either
 * way, and a batch costs one `merge` call and one `queue` call however many logins it holds.
 */
import type { Event } from "../core/event.ts";
import { MERGE_TYPE } from "../core/identity.ts";
import type { Merge } from "../sdk/mod.ts";

/** Splits `batch` into its merges and its events, the events under the persons the batch's merges make. */
export function splitBatch(batch: Event[]): { merges: Merge[]; events: Event[] } {
  const merges: Merge[] = [];
  for (const e of batch) {
    if (e.type === MERGE_TYPE) {
      merges.push({ from: String(e.properties.from), into: e.user_id, timestamp: e.timestamp, position: e.position! });
    }
  }
  // An id merged away is never a person (identity.ts): one step from `from` to `into` is the whole way.
  const into = new Map(merges.map((m) => [m.from, m.into]));
  const events = batch.filter((e) => e.type !== MERGE_TYPE).map((e) => {
    const person = into.get(e.user_id);
    return person === undefined
      ? e
      : { ...e, user_id: person, properties: { ...e.properties, original_user_id: e.user_id } };
  });
  return { merges, events };
}
