import assert from "node:assert/strict";
import { testEachBackend } from "../../tests/support/harness.ts";
import { migrateHost, type Sql, type Store } from "../store/mod.ts";
import { runAlone, ScopeStates, ScopeViolation } from "./scope.ts";

/** A plugin's place made by hand: a role without attributes that owns its schema, as `provision` makes. */
async function placed(store: Store): Promise<{ role: string; schema: string }> {
  await migrateHost(store);
  const role = `scope_${crypto.randomUUID().slice(0, 8)}`;
  await store.exec(`create role ${role} nologin noinherit; create schema scoped authorization ${role}`);
  await store.exec(`grant ${role} to current_user`);
  await runAlone(store, { role, schema: "scoped" }, { timeoutMs: 5000 }, "create table t (n int)", []);
  return { role, schema: "scoped" };
}

/** `store` with each statement sent (in or out of transactions) recorded in `sent`. */
function recording(store: Store, sent: string[]): Store {
  const wrap = (sql: Sql): Sql => ({
    query: (text, params, opts) => (sent.push(text), sql.query(text, params, opts)),
    exec: (text, opts) => (sent.push(text), sql.exec(text, opts)),
  });
  return { ...store, ...wrap(store), transaction: (fn, opts) => store.transaction((tx) => fn(wrap(tx)), opts) };
}

testEachBackend("runAlone() tells whether its statement wrote: a read did not, an insert did", async (backend) => {
  const store = await backend.open();
  try {
    const placement = await placed(store);
    const opts = { timeoutMs: 5000 };
    const read = await runAlone(store, placement, opts, "select count(*) as n from t", []);
    assert.deepEqual(read, { rows: [{ n: 0 }], wrote: false });
    const written = await runAlone(store, placement, opts, "insert into t values ($1) returning n", [7]);
    assert.deepEqual(written, { rows: [{ n: 7 }], wrote: true });
  } finally {
    await store.close();
  }
});

testEachBackend(
  "a plugin's statements run without JIT compiling, where the session's default has it on",
  async (backend) => {
    const store = await backend.open();
    try {
      const placement = await placed(store);
      const jit = "select pg_catalog.current_setting('jit') as jit";
      // PostgreSQL's default; PGlite's too, built without it.
      assert.deepEqual(await store.query(jit), [{ jit: "on" }]);
      assert.deepEqual((await runAlone(store, placement, { timeoutMs: 5000 }, jit, [])).rows, [{ jit: "off" }]);
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "entering with known states reads the session once, and still fails a statement that leaves the scope",
  async (backend) => {
    const store = await backend.open();
    try {
      const placement = await placed(store);
      const sent: string[] = [];
      const opts = { timeoutMs: 5000, states: new ScopeStates(), tripwire: false };
      const seen = recording(store, sent);
      for (let i = 0; i < 3; i++) await runAlone(seen, placement, opts, "select 1 as one", []);
      const reads = sent.filter((s) => s.startsWith("select current_user"));
      // One read on the first entry, then the check after each of the three statements.
      assert.equal(reads.length, 4);
      // The learned state is what the check compares with: a statement changing the role still fails its call.
      await assert.rejects(
        runAlone(seen, placement, opts, "reset role", []),
        (e) => e instanceof ScopeViolation && /may not change user/.test(e.message),
      );
      // Another timeout is another state, read on its own first entry.
      sent.length = 0;
      await runAlone(seen, placement, { ...opts, timeoutMs: 4000 }, "select 1 as one", []);
      assert.equal(sent.filter((s) => s.startsWith("select current_user")).length, 2);
    } finally {
      await store.close();
    }
  },
);
