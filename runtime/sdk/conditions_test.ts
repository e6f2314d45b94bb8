import assert from "node:assert/strict";
import { parseCondition, parseProperty, propertyText } from "./conditions.ts";

Deno.test("parseProperty() reads an event's property or, after user., a trait", () => {
  assert.deepEqual(parseProperty("country"), { user: false, name: "country" });
  assert.deepEqual(parseProperty("user.plan"), { user: true, name: "plan" });
  for (const bad of ["", "user.", "a b", "1st", "user.a-b", "x".repeat(65)]) {
    assert.equal(parseProperty(bad), null, bad);
  }
  assert.equal(propertyText({ user: true, name: "plan" }), "user.plan");
});

Deno.test("parseCondition() takes <property>:<op>[:<value>], a value with colons whole, and says what it expected", () => {
  assert.deepEqual(parseCondition("country:eq:DE"), {
    property: { user: false, name: "country" },
    op: "eq",
    value: "DE",
  });
  assert.deepEqual(parseCondition("page:contains:https://x"), {
    property: { user: false, name: "page" },
    op: "contains",
    value: "https://x",
  });
  assert.deepEqual(parseCondition("user.plan:unset"), {
    property: { user: true, name: "plan" },
    op: "unset",
    value: null,
  });
  assert.deepEqual(parseCondition("price:gte:-10.5"), {
    property: { user: false, name: "price" },
    op: "gte",
    value: "-10.5",
  });
  assert.deepEqual(parseCondition("country:eq:"), { property: { user: false, name: "country" }, op: "eq", value: "" });
  const refused: [string, RegExp][] = [
    ["country", /op one of eq, ne/],
    ["country:like:x", /op one of/],
    ["a b:eq:x", /property name/],
    ["country:set:x", /set takes no value/],
    ["country:eq", /eq needs a value/],
    ["price:gt:ten", /gt compares with a number/],
    ["price:lt:1e9", /lt compares with a number/],
    [`country:eq:${"x".repeat(257)}`, /at most 256/],
  ];
  for (const [raw, message] of refused) assert.match(parseCondition(raw) as string, message, raw);
});
