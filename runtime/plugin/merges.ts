/**
 * A batch as the sandbox hands it to a plugin: runs of events for `queue`, and between them runs of merges for
 * `merge`, in log order. The log's merge entries are `identity.ts`'s.
 */
import type { Event } from "../core/event.ts";
import { MERGE_TYPE } from "../core/identity.ts";
import type { Merge } from "../sdk/mod.ts";

/** One run of a batch: consecutive events, or consecutive merges. */
export type Run = { events: Event[] } | { merges: Merge[] };

/**
 * Splits `batch` into runs. A run of merges can be applied as one set: an id merged away is never a person (see
 * `identity.ts`), so no merge's `into` is another's `from`.
 */
export function runsOf(batch: Event[]): Run[] {
  const runs: Run[] = [];
  for (const e of batch) {
    const last = runs[runs.length - 1];
    if (e.type !== MERGE_TYPE) {
      if (last && "events" in last) last.events.push(e);
      else runs.push({ events: [e] });
      continue;
    }
    const merge = { from: String(e.properties.from), into: e.user_id, timestamp: e.timestamp, position: e.position! };
    if (last && "merges" in last) last.merges.push(merge);
    else runs.push({ merges: [merge] });
  }
  return runs;
}
