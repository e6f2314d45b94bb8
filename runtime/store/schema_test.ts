import assert from "node:assert/strict";
import { BACKENDS, freshDatabase, REPO, testEachBackend } from "../../tests/support/harness.ts";
import { openPostgres } from "./postgres.ts";
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
        "identities",
        "members",
        "migrations",
        "notice_usage",
        "notices",
        "plugins",
        "source_offsets",
        "webhook_deliveries",
        "webhooks",
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
          ["select secret from host.webhooks", /permission denied for schema host/],
          ["insert into host.notices (plugin, channel, payload) values ('x', 'y', '{}')", /permission denied/],
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

testEachBackend(
  "migrateHost() counts the notices of an older database, once, then keeps the count",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      // As this version found it: notices stored, neither sized nor counted.
      await store.exec(`drop table host.notice_usage; alter table host.notices drop column bytes;
      drop function host.count_notices() cascade; drop function host.uncount_notices() cascade;
      insert into host.notices (plugin, channel, payload) values ('a', 'c', '{"n": 1}'), ('a', 'c', '{"n": 22}'),
        ('b', 'c', '{}')`);
      await migrateHost(store);
      await migrateHost(store);
      const usage = () => store.query("select plugin, bytes from host.notice_usage order by plugin");
      assert.deepEqual(await usage(), [{ plugin: "a", bytes: 8 + 9 }, { plugin: "b", bytes: 2 }]);
      await store.exec(`insert into host.notices (plugin, channel, payload) values ('b', 'c', '{"n": 1}');
      delete from host.notices where payload = '{"n": 22}'`);
      assert.deepEqual(await usage(), [{ plugin: "a", bytes: 8 }, { plugin: "b", bytes: 10 }]);
    } finally {
      await store.close();
    }
  },
);

Deno.test({
  name: "[postgres] a least-privileged user refuses to start on an unprepared database; deno task setup-db prepares it",
  ignore: !BACKENDS[1].enabled,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const adminUrl = await freshDatabase();
    const role = `rt_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = await openPostgres(adminUrl, 1);
    const [{ db }] = await admin.query<{ db: string }>("select pg_catalog.current_database() as db");
    await admin.exec(`create role ${role} login createrole; alter database ${db} owner to ${role}`);
    const asRole = new URL(adminUrl);
    asRole.username = role;
    const store = await openPostgres(asRole.href, 1);
    try {
      // It takes what an owner may (temporary tables), then says what is still open and how to close it.
      await assert.rejects(
        migrateHost(store),
        /^Error: Cannot start: every role of the database may still do what plugin roles must not \(\d+ privileges, such as 'revoke execute on function pg_catalog\.lo_close\(integer\) from public'\); as a superuser, run deno task setup-db/,
      );
      const setup = await new Deno.Command(Deno.execPath(), {
        args: ["task", "-q", "setup-db", role],
        cwd: REPO,
        env: { DATABASE_URL: adminUrl, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const printed = new TextDecoder().decode(setup.stdout);
      assert.equal(setup.code, 0, new TextDecoder().decode(setup.stderr));
      assert.match(printed, new RegExp(`^alter role "${role}" login createrole noinherit nosuperuser`, "m"));
      assert.match(printed, /^revoke execute on function pg_catalog\.set_config\(text,text,boolean\) from public;$/m);
      assert.match(printed, /^revoke usage on language plpgsql from public;$/m);
      assert.match(
        printed,
        new RegExp(`^grant execute on function pg_catalog.pg_advisory_xact_lock\\(bigint\\) to "${role}";$`, "m"),
      );
      assert.deepEqual(await migrateHost(store), { superuser: false });
      assert.deepEqual(await openPrivileges(store), []);
    } finally {
      await store.close();
      await admin.close();
    }
  },
});

testEachBackend(
  "migrateHost() gives a checkpoint kept before partitions to every partition, renamed so older processes stop",
  async (backend) => {
    const store = await backend.open();
    try {
      // The table as the previous version made it, with a plugin 42 events in.
      await store.exec(`create schema host;
        create table host.checkpoints (plugin text not null, source text not null, position bigint not null,
          updated_at timestamptz not null default now(), primary key (plugin, source));
        insert into host.checkpoints (plugin, source, position) values ('stats', 'log', 42)`);
      for (let run = 0; run < 2; run++) { // and again at the next start: nothing changes
        await migrateHost(store);
        const rows = await store.query<{ part: number; committed: number; watermark: string | null }>(
          "select part, committed, watermark from host.checkpoints where plugin = 'stats' order by part",
        );
        assert.deepEqual(rows, Array.from({ length: 16 }, (_, part) => ({ part, committed: 42, watermark: null })));
      }
      // What a process of the previous version runs now fails, rather than take one partition's for the whole log.
      await assert.rejects(
        store.query("select position from host.checkpoints where plugin = 'stats' and source = 'log'"),
        /column "position" does not exist/,
      );
      await assert.rejects(
        store.query("insert into host.checkpoints (plugin, source, part, committed) values ('stats', 'log', 3, 0)"),
        /duplicate key/,
      );
    } finally {
      await store.close();
    }
  },
);
