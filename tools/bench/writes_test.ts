import assert from "node:assert/strict";
import { BACKENDS, freshDatabase, waitFor } from "../../tests/support/harness.ts";
import { openPostgres } from "../../runtime/store/mod.ts";
import { describeWrites, rowWrites } from "./writes.ts";

Deno.test({
  name: "rowWrites() divides each schema's and table's inserted, updated and deleted rows by the events",
  ignore: !BACKENDS[1].enabled,
  async fn() {
    const url = await freshDatabase();
    const store = await openPostgres(url, 1);
    try {
      await store.exec(`create schema a; create table a.big (n int); create table a.small (n int);
        create schema b; create table b.only (n int); create table b.untouched (n int)`);
      await store.exec(`insert into a.big select generate_series(1, 30); update a.big set n = 0 where n <= 10;
        insert into a.small values (1), (2); delete from a.small where n = 1; insert into b.only values (1)`);
    } finally {
      await store.close(); // a session reports its counters when it ends
    }
    // 40 + 3 writes in a, 1 in b, over 10 events; the untouched table is left out.
    const writes = await waitFor("the counters", async () => {
      const w = await rowWrites(url, 10);
      return w.length === 2 && w[0].perEvent === 4.3 && w[1].perEvent === 0.1 ? w : null;
    });
    assert.deepEqual(writes, [
      { schema: "a", perEvent: 4.3, tables: [{ table: "big", perEvent: 4 }, { table: "small", perEvent: 0.3 }] },
      { schema: "b", perEvent: 0.1, tables: [{ table: "only", perEvent: 0.1 }] },
    ]);
    assert.equal(describeWrites(writes), "row writes per event 4.4: a 4.3 (big 4, small 0.3); b 0.1 (only 0.1)");
  },
});
