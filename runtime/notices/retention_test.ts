import assert from "node:assert/strict";
import { pluginsFolder, startTestRuntime, testEachBackend, waitFor } from "../../tests/support/harness.ts";
import { migrateHost, type Store } from "../store/mod.ts";
import type { Notice } from "./notice.ts";
import { storeNotices } from "./outbox.ts";
import { NOTICE_RETENTION_MS, pruneNotices } from "./retention.ts";

const notices = (n: number, channel = "c"): Notice[] =>
  Array.from({ length: n }, (_, i) => ({ channel, payload: { i } }));

/** A store with two webhooks on plugin `p`'s channel `c`: each notice of it gets two deliveries. */
async function storeWithWebhooks(open: () => Promise<Store>): Promise<Store> {
  const store = await open();
  await migrateHost(store);
  await store.exec(
    `insert into host.webhooks (name, url, secret, plugin, channel) values
       ('one', 'https://example.com/one', 'whsec_x', 'p', 'c'), ('two', 'https://example.com/two', 'whsec_x', 'p', 'c')`,
  );
  return store;
}

async function setStatus(store: Store, webhook: string, noticeId: number, status: string): Promise<void> {
  await store.query("update host.webhook_deliveries set status = $3 where webhook = $1 and notice_id = $2", [
    webhook,
    noticeId,
    status,
  ]);
}

testEachBackend(
  "pruneNotices() deletes old notices whose deliveries are all delivered or dead, with them; keeps pending, retrying and recent ones",
  async (backend) => {
    const store = await storeWithWebhooks(backend.open);
    try {
      await store.transaction((tx) => storeNotices(tx, "p", notices(5))); // ids 1..5, two deliveries each
      await store.transaction((tx) => storeNotices(tx, "q", notices(2))); // ids 6, 7: no webhook
      await setStatus(store, "one", 1, "delivered");
      await setStatus(store, "two", 1, "delivered");
      await setStatus(store, "one", 2, "delivered");
      await setStatus(store, "two", 2, "dead");
      await setStatus(store, "one", 3, "delivered"); // "two" still pending
      await setStatus(store, "one", 4, "retrying");
      await setStatus(store, "two", 4, "delivered");
      await setStatus(store, "one", 5, "delivered");
      await setStatus(store, "two", 5, "delivered");
      await store.exec(
        "update host.notices set created_at = now() - interval '7 days 1 minute' where id not in (5, 7)",
      );

      assert.equal(await pruneNotices(store, NOTICE_RETENTION_MS), 3);
      const kept = await store.query<{ id: number }>("select id from host.notices order by id");
      assert.deepEqual(kept.map((r) => r.id), [3, 4, 5, 7]);
      const deliveries = await store.query<{ notice_id: number; n: number }>(
        "select notice_id, count(*)::int as n from host.webhook_deliveries group by notice_id order by notice_id",
      );
      assert.deepEqual(deliveries.map((d) => [d.notice_id, d.n]), [[3, 2], [4, 2], [5, 2]]);
      const usage = await store.query<{ plugin: string; bytes: number }>(
        "select plugin, bytes from host.notice_usage order by plugin",
      );
      assert.deepEqual(usage, [{ plugin: "p", bytes: 3 * '{"i": 0}'.length }, { plugin: "q", bytes: 8 }]);
      assert.equal(await pruneNotices(store, NOTICE_RETENTION_MS), 0);
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "pruneNotices() goes on past a thousand old notices it must keep, and deletes the old ones after them",
  async (backend) => {
    const store = await storeWithWebhooks(backend.open);
    try {
      await store.transaction((tx) => storeNotices(tx, "p", notices(1000))); // pending: kept
      for (let i = 0; i < 3; i++) await store.transaction((tx) => storeNotices(tx, "q", notices(500)));
      await store.exec("update host.notices set created_at = now() - interval '8 days'");
      assert.equal(await pruneNotices(store, NOTICE_RETENTION_MS), 1500);
      const left = await store.query<{ plugin: string; n: number }>(
        "select plugin, count(*)::int as n from host.notices group by plugin",
      );
      assert.deepEqual(left, [{ plugin: "p", n: 1000 }]);
    } finally {
      await store.close();
    }
  },
);

testEachBackend("the runtime deletes old notices when it starts (then every 10 minutes)", async (backend) => {
  const store = await backend.open();
  try {
    await migrateHost(store);
    await store.transaction((tx) => storeNotices(tx, "q", notices(3)));
    await store.exec("update host.notices set created_at = now() - interval '8 days' where id < 3");
    const rt = await startTestRuntime(backend, { pluginsDir: await pluginsFolder([]), store });
    try {
      await waitFor("the two old notices to be deleted", async () => {
        const rows = await store.query<{ id: number }>("select id from host.notices");
        return rows.length === 1 && rows[0].id === 3;
      });
      assert.equal(rt.metrics.value("notices_pruned_total"), 2);
    } finally {
      await rt.stop();
    }
  } finally {
    await store.close();
  }
});
