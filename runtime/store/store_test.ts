import assert from "node:assert/strict";
import { BACKENDS, freshDatabase, testEachBackend, waitFor } from "../../tests/support/harness.ts";
import { arrayLiteral, isConnectionLost, openPostgres, parseArray } from "./postgres.ts";
import { openPglite } from "./pglite.ts";
import type { Sql, Store } from "./store.ts";

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

testEachBackend("a transaction's handle refuses statements once its transaction ended", async (backend) => {
  const store = await backend.open();
  try {
    let kept: Sql | undefined;
    await store.transaction(async (tx) => {
      kept = tx;
      await tx.query("select 1");
    });
    await assert.rejects(Promise.resolve().then(() => kept!.query("select 1")), /^Error: the transaction has ended$/);
    await assert.rejects(Promise.resolve().then(() => kept!.exec("select 1")), /^Error: the transaction has ended$/);
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

const POSTGRES = BACKENDS[1];

/**
 * A test on a fresh server database holding `public.t (x int)`, opened with one connection for transactions (and
 * one for the rest): were a transaction's connection handed to others, they would have it.
 */
function serverTest(name: string, fn: (store: Store) => Promise<void>): void {
  Deno.test({
    name: `[postgres] ${name}`,
    ignore: !POSTGRES.enabled,
    async fn() {
      const store = await openPostgres(await freshDatabase(), 1);
      try {
        await store.exec("create table public.t (x int)");
        await fn(store);
      } finally {
        await store.close();
      }
    },
  });
}

/** Fails after 10 s: a statement the driver never answers would otherwise hang the test run. */
function within10s<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within 10 s`)), 10_000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

serverTest(
  "a transaction keeps its connection after a COMMIT inside it, and the next one starts clean",
  async (store) => {
    const [pids, inTransaction] = await within10s(
      "a transaction with a COMMIT inside it",
      store.transaction(async (tx) => {
        const [before] = await tx.query<{ pid: number }>("select pg_backend_pid() as pid");
        await tx.query("insert into public.t values (1)");
        // Another caller waits for a connection meanwhile, with a statement the driver describes first.
        const other = store.query("select pg_catalog.pg_sleep($1)", [0.2]);
        await tx.query("commit");
        const [after] = await tx.query<{ pid: number }>("select pg_backend_pid() + $1::int as pid", [0]);
        await other;
        const [open] = await tx.query<{ open: boolean }>("select txid_current_if_assigned() is not null as open");
        await tx.query("insert into public.t values (2)");
        return [[before.pid, after.pid], open.open];
      }),
    );
    assert.equal(pids[0], pids[1]);
    assert.equal(inTransaction, false); // the insert after the COMMIT ran in a transaction of its own
    await within10s("the next transaction", store.transaction((tx) => tx.query("insert into public.t values (3)")));
    const rows = await store.query<{ x: number }>("select x from public.t order by x");
    assert.deepEqual(rows.map((r) => r.x), [1, 2, 3]);
  },
);

serverTest("COPY with the client fails its statement and its transaction; the next transaction runs", async (store) => {
  for (
    const copy of [
      "copy public.t from stdin",
      "copy public.t (x) from stdin with (format csv)",
      "copy public.t to stdout",
      // Fails halfway, once postgres.js has answered the stream: its error must not end the process.
      "copy (select 1 / (x - 3) from pg_catalog.generate_series(1, 5) x) to stdout",
      "copy (select pg_catalog.repeat('x', 100000) || (1 / (x - 300))::text " +
      "from pg_catalog.generate_series(1, 500) x) to stdout",
    ]
  ) {
    await assert.rejects(
      within10s(
        copy,
        store.transaction(async (tx) => {
          await tx.query("insert into public.t values (1)");
          await tx.query(copy);
        }),
      ),
      /^Error: COPY with the client is not supported/,
      copy,
    );
    await within10s(`a transaction after ${copy}`, store.transaction((tx) => tx.query("select 1")));
  }
  assert.deepEqual(await store.query("select x from public.t"), []);
});

serverTest("a transaction whose connection is lost fails without sending more; the next one runs", async (store) => {
  const lost = store.transaction(async (tx) => {
    await tx.query("insert into public.t values (1)");
    const [{ pid }] = await tx.query<{ pid: number }>("select pg_backend_pid() as pid");
    await store.query("select pg_terminate_backend($1)", [pid]);
    await waitFor("the connection to close", () => tx.query("select 1").then(() => false, () => true));
    await tx.query("insert into public.t values (2)");
  });
  const error = await within10s("the lost transaction", lost.then(() => null, (e) => e));
  assert.ok(isConnectionLost(error), String(error));
  await within10s("the next transaction", store.transaction((tx) => tx.query("insert into public.t values (3)")));
  const rows = await store.query<{ x: number }>("select x from public.t order by x");
  assert.deepEqual(rows.map((r) => r.x), [3]);
});

Deno.test("in-memory databases opened at once, or after another was written to, each start empty", async () => {
  // The first one opened in a process is dumped before anything runs on it; the others start from that dump.
  const [a, b] = await Promise.all([openPglite("memory://"), openPglite("memory://")]);
  try {
    await a.exec("create table written (x int); insert into written values (1)");
    const c = await openPglite("memory://");
    try {
      for (const store of [b, c]) {
        const [row] = await store.query<{ n: number }>(
          "select count(*)::int as n from pg_catalog.pg_class where relname = 'written'",
        );
        assert.equal(row.n, 0);
        await store.exec("create table written (x int)"); // its own, not the other's
      }
      assert.deepEqual(await a.query("select x from written"), [{ x: 1 }]);
    } finally {
      await c.close();
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("opening and closing in-memory databases does not grow the process's memory", async () => {
  const cycle = async () => {
    const store = await openPglite("memory://");
    await store.query("select 1");
    await store.close();
  };
  for (let i = 0; i < 2; i++) await cycle();
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 6; i++) await cycle();
  const grown = (Deno.memoryUsage().rss - before) / 1024 ** 2;
  // Each open loads a 40 MB dump of a fresh data directory: kept after the worker ends, six opens would add 240 MB.
  assert.ok(grown < 100, `${Math.round(grown)} MB more after six databases were opened and closed`);
});
