import assert from "node:assert/strict";
import { testEachBackend } from "../testing.ts";
import { arrayLiteral, parseArray } from "./postgres.ts";

Deno.test("arrayLiteral() quotes, escapes and nests", () => {
  assert.equal(arrayLiteral(["a", 'b"c', "d\\e", null, "x,y"]), '{"a","b\\"c","d\\\\e",NULL,"x,y"}');
  assert.equal(arrayLiteral([true, false, null]), "{t,f,NULL}");
  assert.equal(arrayLiteral([[1, 2], [3, 4]]), '{{"1","2"},{"3","4"}}');
});

testEachBackend("array parameters of every kind arrive the same on both backends", async (backend) => {
  const store = await backend.open();
  try {
    const [row] = await store.query(
      `select $1::text[] as texts, $2::boolean[] as flags, $3::int8[] as ints, $4::numeric[] as nums,
              $5::timestamptz[] as times, $6::int8 as n, $7::numeric as amount`,
      [
        ["a", 'quote"d', "back\\slash", null, "comma,brace}"],
        [true, false, null],
        [1, 2 ** 40, null],
        [19.99, null, 0.1],
        ["2026-01-01T00:00:00.000Z"],
        2 ** 40,
        "12.50",
      ],
    );
    assert.deepEqual(row.texts, ["a", 'quote"d', "back\\slash", null, "comma,brace}"]);
    assert.deepEqual(row.flags, [true, false, null]);
    assert.deepEqual(row.ints, [1, 2 ** 40, null]);
    assert.deepEqual(row.nums, [19.99, null, 0.1]);
    assert.equal(new Date((row.times as Date[])[0]).toISOString(), "2026-01-01T00:00:00.000Z");
    assert.equal(row.n, 2 ** 40); // int8 and numeric come back as numbers on both
    assert.equal(row.amount, 12.5);
    // JSON parameters: text is taken as JSON text, values are encoded; either way an object arrives.
    const [json] = await store.query(
      `select $1::jsonb as text, $2::jsonb as value, $3::jsonb @> '{"a": 1}' as contains`,
      ['{"a":1,"b":[true]}', { a: 1, b: [true] }, '{"a":1}'],
    );
    assert.deepEqual(json, { text: { a: 1, b: [true] }, value: { a: 1, b: [true] }, contains: true });
    const [empty] = await store.query("select cardinality($1::text[]) as n", [[]]);
    assert.equal(empty.n, 0);
  } finally {
    await store.close();
  }
});

Deno.test("parseArray() reads NULLs, quotes, escapes and nesting", () => {
  assert.deepEqual(parseArray('{a,"b c",NULL,"NULL","q\\"x","back\\\\"}', (x) => x), [
    "a",
    "b c",
    null,
    "NULL",
    'q"x',
    "back\\",
  ]);
  assert.deepEqual(parseArray("{{1,2},{3,NULL}}", Number), [[1, 2], [3, null]]);
  assert.deepEqual(parseArray("{}", Number), []);
});
