import assert from "node:assert/strict";
import { testEachBackend } from "../../tests/support/harness.ts";
import { migrateHost, type Store } from "../store/mod.ts";
import { NoticesRefused } from "./budget.ts";
import { type Notice, NOTICE_BUDGET_BYTES } from "./notice.ts";
import { storeNotices } from "./outbox.ts";

/** `n` notices of 16,008 bytes each as sent (`{"x":"aaa…"}`), 16,009 as stored (PostgreSQL writes `{"x": "aaa…"}`). */
const big = (n: number): Notice[] =>
  Array.from({ length: n }, () => ({ channel: "c", payload: { x: "a".repeat(16_000) } }));

/** Per plugin: its notices stored, and the bytes `host.notice_usage` counts of them. */
async function usage(store: Store): Promise<Record<string, [number, number]>> {
  const rows = await store.query<{ plugin: string; n: number; bytes: number }>(
    `select u.plugin, (select count(*) from host.notices n where n.plugin = u.plugin)::int as n, u.bytes
     from host.notice_usage u order by u.plugin`,
  );
  return Object.fromEntries(rows.map((r) => [r.plugin, [r.n, r.bytes]]));
}

testEachBackend(
  "storeNotices() refuses a plugin's notices past its budget per minute; other plugins' commit, and the next window takes them",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const notify = (plugin: string, notices: Notice[]) =>
        store.transaction((tx) => storeNotices(tx, plugin, notices));
      assert.equal(NOTICE_BUDGET_BYTES, 4 * 1024 * 1024);
      assert.equal(await notify("a", big(200)), 200);
      assert.equal(await notify("a", big(62)), 62); // 262 × 16,008 = 4,194,096 bytes: 208 short of the budget
      const refused = await notify("a", big(1)).catch((e) => e);
      assert.ok(refused instanceof NoticesRefused);
      assert.match(
        refused.message,
        /^plugin a: notify: over its notice budget of 4\.0 MiB per minute: 4194096 bytes stored this minute, 16008 more refused; the budget renews in \d+ s$/,
      );
      const retryInMs = refused.retryInMs ?? -1;
      assert.ok(retryInMs > 55_000 && retryInMs <= 60_000, `${retryInMs} ms`);
      assert.equal(await notify("b", big(10)), 10, "another plugin's budget is its own");
      assert.deepEqual(await usage(store), { a: [262, 262 * 16_009], b: [10, 10 * 16_009] });

      // One call over the whole budget can never be taken: it is the call's fault.
      await store.exec("update host.notice_usage set window_start = now() - interval '61 seconds'");
      const never = await notify("b", big(263)).catch((e) => e);
      assert.equal(never.retryInMs, null);
      assert.match(
        never.message,
        /^plugin b: notify: over its notice budget of 4\.0 MiB per minute: one call's 4210104/,
      );
      assert.equal(await notify("a", big(1)), 1, "the next window");
      assert.deepEqual(await usage(store), { a: [263, 263 * 16_009], b: [10, 10 * 16_009] });
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "storeNotices() refuses a plugin's notices while its schema and stored notices are over its quota; deleting notices frees it",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const quota = { limitBytes: 100_000, schemaBytes: 40_000 };
      const notify = () => store.transaction((tx) => storeNotices(tx, "a", big(2), quota));
      assert.equal(await notify(), 2); // 40,000 + 32,016 stored
      assert.equal(await notify(), 2); // under before it: taken, and now over (as a write is)
      const refused = await notify().catch((e) => e);
      assert.ok(refused instanceof NoticesRefused);
      assert.equal(refused.retryInMs, 0);
      assert.equal(
        refused.message,
        "plugin a: notify: over its storage quota: 0.1 MiB used of 0.1 MiB, 0.1 MiB of it notices; its notices are " +
          "refused until it is under",
      );
      assert.deepEqual(await usage(store), { a: [4, 4 * 16_009] });
      // The total follows whoever deletes (here an operator, by hand): the plugin is under again.
      await store.exec("delete from host.notices where id <= 2");
      assert.deepEqual(await usage(store), { a: [2, 2 * 16_009] });
      assert.equal(await notify(), 2);
    } finally {
      await store.close();
    }
  },
);
