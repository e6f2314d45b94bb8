import assert from "node:assert/strict";
import { testEachBackend } from "../testing.ts";
import { openPrivileges } from "./hardening.ts";
import { migrateHost } from "./schema.ts";

testEachBackend(
  "migrateHost() creates the host tables and denies other roles languages, temporary tables and risky functions",
  async (backend) => {
    const store = await backend.open();
    try {
      assert.deepEqual(await migrateHost(store), { superuser: true });
      assert.deepEqual(await migrateHost(store), { superuser: true }); // idempotent
      assert.deepEqual(await openPrivileges(store), []);
      const tables = await store.query<{ t: string }>(
        "select table_name as t from information_schema.tables where table_schema = 'host' order by 1",
      );
      assert.deepEqual(tables.map((r) => r.t), [
        "checkpoints",
        "dead_letters",
        "events",
        "migrations",
        "plugins",
        "source_offsets",
      ]);
      const role = `schema_test_${crypto.randomUUID().slice(0, 8)}`; // roles outlive a test database
      await store.exec(`create role ${role} nologin; create schema schema_test authorization ${role}`);
      await store.exec(`set search_path = pg_catalog`);
      for (
        const [sql, error] of [
          [
            "create function schema_test.f() returns int language sql as 'select 1'",
            /permission denied for language sql/,
          ],
          [
            "create function schema_test.g() returns int language plpgsql as 'begin return 1; end'",
            /permission denied for language plpgsql/,
          ],
          ["select set_config('role', 'postgres', true)", /permission denied for function set_config/],
          ["select * from host.events", /permission denied for schema host/],
          ["create temporary table pg_roles (rolname text)", /permission denied to create temporary tables/],
          ["select pg_catalog.pg_advisory_lock(727001)", /permission denied for function pg_advisory_lock/],
          ["select pg_catalog.pg_sleep(0)", /permission denied for function pg_sleep/],
          ["select pg_catalog.lo_create(0)", /permission denied for function lo_create/],
          ["select pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())", /permission denied for function/],
          [
            "update pg_catalog.pg_settings set setting = 'off' where name = 'row_security'",
            /denied for function set_config/,
          ],
        ] as const
      ) {
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.exec(`set local role ${role}`);
            await tx.query(sql);
          }),
          error,
        );
      }
    } finally {
      await store.close();
    }
  },
);
