import assert from "node:assert/strict";
import { BACKENDS } from "../../tests/support/harness.ts";
import { storeNotices } from "../notices/mod.ts";
import { migrateHost, openPostgres } from "../store/mod.ts";
import { claimDue } from "./deliveries.ts";

const NOTICES = 400;

Deno.test({
  name: "[postgres] claimDue(): processes claiming at once never claim one delivery twice",
  ignore: !BACKENDS[1].enabled,
  async fn() {
    const { databaseUrl } = await BACKENDS[1].fresh();
    const store = await openPostgres(databaseUrl!, 16);
    try {
      await migrateHost(store);
      await store.query(
        "insert into host.webhooks (name, url, secret, plugin, channel) values ('w', 'http://127.0.0.1:9/', $1, 'demo', 'ping')",
        ["a-secret-of-twenty-four-chars-or-more"],
      );
      const notices = Array.from({ length: NOTICES }, (_, n) => ({ channel: "ping", payload: { n } }));
      await store.transaction((tx) => storeNotices(tx, "demo", notices));
      // Eight claimers (the pool's connections) race over the same oldest due deliveries, as eight processes would;
      // each claim leases its deliveries for a minute, so none is due again during the test.
      const fair = { perWebhook: NOTICES, busy: new Map<string, number>() };
      const claimed: number[] = [];
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let idle = 0; idle < 3;) {
          const got = await claimDue(store, 5, 60_000, fair);
          claimed.push(...got.map((c) => c.notice.id));
          idle = got.length === 0 ? idle + 1 : 0;
        }
      }));
      const twice = claimed.filter((id, i) => claimed.indexOf(id) !== i);
      assert.deepEqual(twice, [], "claimed twice");
      const [{ left }] = await store.query<{ left: number }>(
        "select count(*)::int as left from host.webhook_deliveries where attempts = 0",
      );
      assert.equal(left, 0, "every delivery claimed");
      assert.equal(claimed.length, NOTICES);
    } finally {
      await store.close();
    }
  },
});
