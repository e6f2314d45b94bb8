import assert from "node:assert/strict";
import {
  callProblem,
  checkNotice,
  MAX_NOTICE_BYTES,
  MAX_NOTICES_PER_CALL,
  NOTICE_BUDGET_BYTES,
  NoticeBatch,
  noticeProblem,
} from "./notice.ts";

Deno.test("noticeProblem() takes a channel of the rule and a JSON object of at most 16 KiB", () => {
  assert.equal(noticeProblem("alert", { alert_id: "a1", reasons: ["velocity"] }), null);
  assert.equal(noticeProblem("a", {}), null);
  assert.equal(noticeProblem("kpi_2", { x: "é".repeat(MAX_NOTICE_BYTES / 2 - 10) }), null); // bytes, not characters
  assert.equal(noticeProblem(`a${"b".repeat(31)}`, {}), null);
  assert.equal(noticeProblem("deep", nested(32)), null);
});

/** An object nesting `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

Deno.test("noticeProblem() says what is wrong: channel, shape, size, nesting, unstorable text", () => {
  const cases: [unknown, unknown, string | RegExp][] = [
    ["Alert", {}, "notify: the channel must match ^[a-z][a-z0-9_]{0,31}$, got 'Alert'"],
    [`a${"b".repeat(32)}`, {}, /^notify: the channel must match .*, got 'abbb/],
    ["my-channel", {}, /got 'my-channel'$/],
    [7, {}, /got 7$/],
    [undefined, {}, /got undefined$/],
    [{ toString: () => "x" }, {}, /got an object$/],
    ["alert", 10n, "notify: the payload must be a JSON object, got a bigint"],
    ["alert", () => {}, "notify: the payload must be a JSON object, got a function"],
    ["alert", [1, 2], "notify: the payload must be a JSON object, got an array"],
    ["alert", null, "notify: the payload must be a JSON object, got null"],
    ["alert", "text", "notify: the payload must be a JSON object, got 'text'"],
    [
      "alert",
      { x: "y".repeat(MAX_NOTICE_BYTES) },
      /^notify: the payload is 16392 bytes serialized, over the 16384 byte/,
    ],
    ["alert", { x: "é".repeat(MAX_NOTICE_BYTES / 2) }, /^notify: the payload is 16392 bytes serialized/],
    ["alert", nested(33), "notify: the payload nests deeper than 32 levels"],
    ["alert", { text: "a\u0000b" }, "notify: the payload's strings must be well-formed Unicode without NUL characters"],
    ["alert", { ["\ud800"]: 1 }, /well-formed Unicode/],
  ];
  for (const [channel, payload, expected] of cases) {
    const problem = noticeProblem(channel, payload);
    if (typeof expected === "string") assert.equal(problem, expected);
    else assert.match(problem ?? "", expected);
  }
});

Deno.test("NoticeBatch takes at most 1,000 notices; the first bad message fails the call and nothing after it is kept", () => {
  const batch = new NoticeBatch();
  for (let i = 0; i < MAX_NOTICES_PER_CALL; i++) {
    assert.deepEqual(batch.add({ kind: "notice", call: 1, channel: "n", payload: { i } }), {
      channel: "n",
      payload: { i },
    });
  }
  assert.equal(batch.error, null);
  assert.equal(batch.add({ channel: "n", payload: { i: 1000 } }), null);
  assert.equal(batch.error, "notify: over 1000 notices in one call");
  assert.equal(batch.notices.length, MAX_NOTICES_PER_CALL);

  const forged = new NoticeBatch();
  assert.ok(forged.add({ channel: "ok", payload: {} }));
  for (const message of [null, "notice", { channel: "ok" }, { channel: "OK", payload: {} }]) {
    const batch = new NoticeBatch();
    assert.equal(batch.add(message), null);
    assert.match(batch.error!, /^notify: /);
  }
  assert.equal(forged.add({ channel: "Bad", payload: {} }), null);
  assert.equal(forged.add({ channel: "ok", payload: {} }), null, "nothing after the first problem");
  assert.deepEqual(forged.notices, [{ channel: "ok", payload: {} }]);
  assert.match(forged.error!, /got 'Bad'$/);
});

Deno.test("NoticeBatch takes at most 4 MiB of notices from one call, the budget per minute; the call fails past it", () => {
  const batch = new NoticeBatch();
  const payload = { x: "a".repeat(16_000) }; // 16,008 bytes serialized
  assert.equal(checkNotice("c", payload), 16_008);
  for (let i = 0; i < 262; i++) assert.ok(batch.add({ channel: "c", payload }));
  assert.deepEqual([batch.bytes, batch.error], [262 * 16_008, null]); // 208 bytes short of the budget
  assert.equal(batch.add({ channel: "c", payload }), null);
  assert.equal(batch.error, "notify: over 4194304 bytes of notices in one call, the plugin's notice budget per minute");
  assert.equal(batch.add({ channel: "c", payload: { small: 1 } }), null, "nothing after the first problem");
  assert.deepEqual([batch.notices.length, batch.bytes], [262, 262 * 16_008]);
  assert.equal(NOTICE_BUDGET_BYTES, 4 * 1024 * 1024);
  assert.equal(callProblem(1000, NOTICE_BUDGET_BYTES), null);
  assert.equal(callProblem(1001, 10), "notify: over 1000 notices in one call");
});
