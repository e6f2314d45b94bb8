import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { columnsOf, csvHeader, csvLine, type JsonValue, rowsOf, tablesOf } from "./csv.ts";

Deno.test("tablesOf() names the lists of objects, empty ones too, and not lists of plain values", () => {
  const answer = { interval: "day", cohorts: [{ start: "2026-01-05" }], average: [0.5, null], links: [] };
  assert.deepEqual(tablesOf(answer), ["cohorts", "links"]);
  assert.deepEqual(tablesOf({ events: 3, by_type: { search: 3 } }), []);
  assert.deepEqual(rowsOf({ events: 3 }, null), [{ events: 3 }]);
});

Deno.test("columnsOf() flattens objects and lists of numbers, and keeps other lists as JSON", () => {
  const rows: Record<string, JsonValue>[] = [
    { start: "a", by_type: { search: 2 }, rates: [1, null], steps: ["search", "purchase"] },
    { start: "b", by_type: { search: 1, purchase: 1 }, rates: [0.5, 0.25], steps: [] },
  ];
  const columns = columnsOf(rows, "columns");
  assert.deepEqual(columns, ["start", "by_type.search", "rates.0", "rates.1", "steps", "by_type.purchase"]);
  assert.equal(
    csvHeader(columns) + rows.map((r) => csvLine(r, columns, "columns")).join(""),
    'start,by_type.search,rates.0,rates.1,steps,by_type.purchase\r\na,2,1,,"[""search"",""purchase""]",\r\n' +
      "b,1,0.5,0.25,[],1\r\n",
  );
  assert.deepEqual(columnsOf(rows, "json"), ["start", "by_type", "rates", "steps"]);
  assert.equal(csvLine(rows[1], ["start", "by_type"], "json"), 'b,"{""search"":1,""purchase"":1}"\r\n');
});

Deno.test("csvLine() makes formulas inert and quotes what needs it; a CSV parser reads back the same text", () => {
  const hostile: JsonValue[] = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    'a "quoted", comma',
    "two\nlines",
    "crlf\r\nend",
    " padded ",
    "plain",
    "ünï ✓",
    "",
  ];
  const rows: Record<string, JsonValue>[] = hostile.map((text, i) => ({ i, text, n: -i }));
  const columns = columnsOf(rows, "columns");
  const csv = csvHeader(columns) + rows.map((r) => csvLine(r, columns, "columns")).join("");
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
  assert.deepEqual(read.map((r) => r.n), [
    "0",
    "-1",
    "-2",
    "-3",
    "-4",
    "-5",
    "-6",
    "-7",
    "-8",
    "-9",
    "-10",
    "-11",
    "-12",
  ]);
  assert.equal(csvLine({ a: null, b: true }, ["a", "b", "c"], "columns"), ",true,\r\n");
});
