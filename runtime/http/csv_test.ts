import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { csvHeader, type JsonValue, MAX_COLUMNS, Table, tablesOf } from "./csv.ts";

/** The whole CSV of a table. */
const csvOf = (t: Table) => csvHeader(t.columns) + t.rows.map((r) => t.line(r)).join("");

Deno.test("tablesOf() names lists one level down after the top-level ones, and Table.of() reads them", () => {
  const answer = {
    events: 5,
    breakdown: { by: "country", rows: [{ key: "DE", events: 3 }, { key: null, events: 2 }], values: [1] },
    buckets: [],
    "a.b": [{ x: 1 }],
  };
  assert.deepEqual(tablesOf(answer), ["buckets", "a.b", "breakdown.rows"]);
  assert.deepEqual(Table.rowsOf(answer, "breakdown.rows"), answer.breakdown.rows);
  assert.deepEqual(Table.rowsOf(answer, "a.b"), [{ x: 1 }]); // a top-level name with a dot is that list
  assert.deepEqual(Table.rowsOf(answer, "breakdown.nothing"), []);
  assert.deepEqual(Table.of(answer, "breakdown.rows", "columns").columns, ["key", "events"]);
});

Deno.test("tablesOf() names the lists of objects, empty ones too, and not lists of plain values", () => {
  const answer = { interval: "day", cohorts: [{ start: "2026-01-05" }], average: [0.5, null], links: [] };
  assert.deepEqual(tablesOf(answer), ["cohorts", "links"]);
  assert.deepEqual(tablesOf({ events: 3, by_type: { search: 3 } }), []);
  assert.equal(csvOf(Table.of({ events: 3 }, null, "columns")), '"events"\r\n3\r\n');
  assert.equal(csvOf(Table.of([{ a: 1 }, { a: 2 }], null, "columns")), '"a"\r\n1\r\n2\r\n'); // an answer that is a list
});

Deno.test("Table flattens objects and lists of numbers, and keeps other lists as JSON", () => {
  const answer: JsonValue = {
    rows: [
      { start: "a", by_type: { search: 2 }, rates: [1, null], steps: ["search", "purchase"] },
      { start: "b", by_type: { search: 1, purchase: 1 }, rates: [0.5, 0.25], steps: [] },
    ],
  };
  const t = Table.of(answer, "rows", "columns");
  assert.deepEqual(t.columns, ["start", "by_type.search", "rates.0", "rates.1", "steps", "by_type.purchase"]);
  assert.equal(
    csvOf(t),
    '"start","by_type.search","rates.0","rates.1","steps","by_type.purchase"\r\n' +
      '"a",2,1,,"[""search"",""purchase""]",\r\n' +
      '"b",1,0.5,0.25,"[]",1\r\n',
  );
  const json = Table.of(answer, "rows", "json");
  assert.deepEqual(json.columns, ["start", "by_type", "rates", "steps"]);
  assert.equal(json.line(json.rows[1]), '"b","{""search"":1,""purchase"":1}","[0.5,0.25]","[]"\r\n');
});

Deno.test("Table keeps wide or deep values as JSON cells, and reads a missing column as empty, not as a prototype's", () => {
  // A sparse object per row (a custom event type each): past MAX_COLUMNS, one JSON cell rather than a column each.
  const rows = Array.from({ length: MAX_COLUMNS + 5 }, (_, i) => ({ start: i, by_type: { [`t${i}`]: 1 } }));
  const wide = Table.of({ rows }, "rows", "columns");
  assert.deepEqual(wide.columns, ["start", "by_type"]);
  assert.equal(wide.line(rows[7]), '7,"{""t7"":1}"\r\n');
  let deep: JsonValue = { x: 1 };
  for (let i = 0; i < 20_000; i++) deep = { d: deep };
  const t = Table.of({ rows: [{ id: 1, deep }] }, "rows", "columns");
  assert.equal(t.columns.length, 2);
  assert.equal(t.columns[1], "deep.d.d.d.d.d.d.d.d");
  assert.equal(Table.of({ rows: [{ a: 1 }] }, "rows", "columns").line({ constructor: 5 }), "\r\n");
  const t2 = Table.of({ rows: [{ constructor: 1, toString: 2 }] }, "rows", "columns");
  assert.equal(t2.line({}), ",\r\n");
});

Deno.test("cells quote all text, make formulas inert, and read back the same through a CSV parser", () => {
  const hostile: string[] = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "x;=HYPERLINK(1)",
    'a "quoted", comma',
    "two\nlines",
    "crlf\r\nend",
    " padded ",
    "plain",
    "ünï ✓",
    "",
  ];
  const t = Table.of({ rows: hostile.map((text, i) => ({ i, text, n: -i })) }, "rows", "columns");
  const csv = csvOf(t);
  assert.ok(csv.includes('"x;=HYPERLINK(1)"'), "a ';' inside quotes: no locale splits it");
  const read = parse(csv, { columns: true, relax_quotes: false }) as Record<string, string>[];
  assert.deepEqual(
    read.map((r) => r.text),
    [
      `'=HYPERLINK("http://evil.example","click")`,
      "'+1+cmd|' /C calc'!A0",
      "'-2+3",
      "'@SUM(A1:A2)",
      "'\t=1",
      "'\r=1",
      "x;=HYPERLINK(1)",
      'a "quoted", comma',
      "two\nlines",
      "crlf\r\nend",
      " padded ",
      "plain",
      "ünï ✓",
      "",
    ],
  );
  // Numbers are numbers: a negative one keeps its sign.
  assert.deepEqual(read.map((r) => r.n), hostile.map((_, i) => String(-i)));
  assert.equal(Table.of({ r: [{ a: null, b: true, c: 1 }] }, "r", "columns").line({ a: null, b: true }), ",true,\r\n");
});
