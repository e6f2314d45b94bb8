import assert from "node:assert/strict";
import type { Event } from "../core/event.ts";
import { splitBatch } from "./merges.ts";

const at = "2026-05-01T00:00:00.000Z";
const event = (id: string, user: string, position: number): Event => ({
  event_id: id,
  type: "page_view",
  user_id: user,
  timestamp: at,
  properties: {},
  position,
});
const merge = (from: string, into: string, position: number): Event => ({
  event_id: `$merge@${position}`,
  type: "$merge",
  user_id: into,
  timestamp: at,
  properties: { from },
  position,
});

Deno.test("splitBatch() gives a batch's merges first, then its events, those of a merged id under the person", () => {
  const { merges, events } = splitBatch([
    event("e1", "a", 1),
    merge("a", "u", 2),
    event("e2", "u", 3),
    event("e3", "b", 4),
    merge("c", "v", 5),
  ]);
  assert.deepEqual(merges, [
    { from: "a", into: "u", timestamp: at, position: 2 },
    { from: "c", into: "v", timestamp: at, position: 5 },
  ]);
  assert.deepEqual(events.map((e) => [e.event_id, e.user_id, e.properties.original_user_id]), [
    ["e1", "u", "a"],
    ["e2", "u", undefined],
    ["e3", "b", undefined],
  ]);
});
