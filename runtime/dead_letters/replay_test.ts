import assert from "node:assert/strict";
import { letterItems } from "./replay.ts";

Deno.test("letterItems() finds the item of an HTTP letter and the events of a Kafka message's letter", () => {
  const kafka = { topic: "t", partition: 0, offset: 7 };
  assert.deepEqual(letterItems({ reason: "user_id: is required", payload: { event_id: "a" } }), [{ event_id: "a" }]);
  assert.deepEqual(letterItems({ reason: "t/0@7: user_id: is required", payload: { kafka, item: { a: 1 } } }), [
    { a: 1 },
  ]);
  assert.deepEqual(letterItems({ reason: "t/0@7: message is not JSON: x", payload: { kafka, value: '[{"a":1},2]' } }), [
    { a: 1 },
    2,
  ]);
  assert.deepEqual(letterItems({ reason: "t/0@7: message is not JSON: x", payload: { kafka, value: "{x" } }), ["{x"]);
  assert.equal(letterItems({ reason: "t/0@7: empty message", payload: { kafka, value: null } }), null);
  // Without a Kafka reason, an item that happens to look like one is taken as it is.
  assert.deepEqual(letterItems({ reason: "unknown field", payload: { kafka: 1, item: 2 } }), [{ kafka: 1, item: 2 }]);
});
