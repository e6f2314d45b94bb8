import assert from "node:assert/strict";
import type { Event } from "../core/event.ts";
import { runsOf } from "./merges.ts";

const at = "2026-05-01T00:00:00.000Z";
const event = (id: string, position: number): Event => ({
  event_id: id,
  type: "page_view",
  user_id: "u",
  timestamp: at,
  properties: {},
  position,
});
const merge = (from: string, into: string, position: number): Event => ({
  event_id: `$merge:${from}`,
  type: "$merge",
  user_id: into,
  timestamp: at,
  properties: { from },
  position,
});

Deno.test("runsOf() splits a batch into runs of events and of merges, in log order", () => {
  const runs = runsOf([
    event("e1", 1),
    merge("a", "c", 2),
    merge("b", "c", 3),
    merge("x", "c", 4),
    event("e2", 5),
    merge("y", "d", 6),
  ]);
  assert.deepEqual(runs.map((r) => "events" in r ? r.events.map((e) => e.event_id) : r.merges), [
    ["e1"],
    [
      { from: "a", into: "c", timestamp: at, position: 2 },
      { from: "b", into: "c", timestamp: at, position: 3 },
      { from: "x", into: "c", timestamp: at, position: 4 },
    ],
    ["e2"],
    [{ from: "y", into: "d", timestamp: at, position: 6 }],
  ]);
});
