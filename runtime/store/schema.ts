import { LOG_PARTITIONS } from "../core/partitions.ts";
import { harden, HOST_LOCK, isSuperuser } from "./hardening.ts";
import type { Store } from "./store.ts";

/**
 * The host's own tables, in schema `host`, which no plugin role can reach.
 * - `events`: the durable log; `position` is dense and increasing, assigned under one lock at commit.
 * - `dead_letters`: every rejected item, by stage (`ingest`, `transform:<plugin>`, `plugin:<name>`, `webhook:<name>`),
 *   with its state (pending, retrying, dead, resolved), its retries and their last error; `replayed_at` once resolved.
 * - `plugins`: the registry of loaded plugins and their roles.
 * - `checkpoints`: per plugin, source and log partition (`core/partitions.ts`), the last position up to which that
 *   plugin committed the effects of the partition's events (`committed`), and the watermark there.
 * - `members`: per runtime process on this database and plugin it runs, its last heartbeat: the processes running a
 *   plugin share its log partitions (`plugin/members.ts`).
 * - `migrations`: which of each plugin's migration files were applied.
 * - `identities`: each id linked to a person (`person` is another id), and each id known to have signed in (`known`),
 *   which is never linked away (see `core/identity.ts`).
 * - `notices`: what plugins notified, each committed with the call that made it (see `notices/outbox.ts`), with the
 *   size of its payload as JSON text (`bytes`); kept for a retention period (see `notices/retention.ts`).
 * - `notice_usage`: per plugin, the bytes of its stored notices (which count against its storage quota), kept by the
 *   triggers on `notices` whoever inserts or deletes, and its spending of its notice budget (see `notices/budget.ts`).
 * - `webhooks`: where operators send a plugin's notices of one channel, with the secret that signs them; and
 *   `webhook_deliveries`, one per notice and webhook, with its attempts (see `webhooks/`).
 * A plugin's work runs inside a host transaction that writes one of the last three (its checkpoint, the dead letter it
 * replays, the migration it applies) before the plugin's statements; their deferred trigger fails a COMMIT issued
 * while the plugin's scope is open, so a plugin that sends `commit` rolls back the whole transaction, its own writes
 * included.
 */
const HOST_SCHEMA = `
create schema if not exists host;
create table if not exists host.events (
  position    bigint primary key,
  event_id    text not null unique,
  type        text not null,
  user_id     text not null,
  ts          timestamptz not null,
  received_at timestamptz not null default now(),
  body        jsonb not null
);
-- The log partition of the user (core/partitions.ts); null for events logged before the log was partitioned.
alter table host.events add column if not exists part smallint;
create table if not exists host.dead_letters (
  id         bigserial primary key,
  stage      text not null,
  reason     text not null,
  payload    jsonb,
  created_at timestamptz not null default now()
);
create index if not exists dead_letters_stage on host.dead_letters (stage, id);
alter table host.dead_letters add column if not exists replayed_at timestamptz;
create index if not exists dead_letters_pending on host.dead_letters (stage, id) where replayed_at is null;
-- The letters' lifecycle (dead_letters/lifecycle.ts), added with a backfill: a letter replayed before is resolved.
do $$ begin
  if not exists (select 1 from information_schema.columns
                 where table_schema = 'host' and table_name = 'dead_letters' and column_name = 'state') then
    alter table host.dead_letters
      add column state text not null default 'pending'
        check (state in ('pending', 'retrying', 'dead', 'resolved')),
      add column retries integer not null default 0,
      add column last_error text,
      add column last_retry_at timestamptz,
      add column next_retry_at timestamptz;
    update host.dead_letters set state = 'resolved' where replayed_at is not null;
    -- The update's deferred checks (only_the_host_commits) run now, not at commit: no index can be made on a table
    -- with checks pending. Only for the rest of this migration's transaction.
    set constraints all immediate;
  end if;
end $$;
create index if not exists dead_letters_state on host.dead_letters (state, id);
create index if not exists dead_letters_new on host.dead_letters (created_at)
  where state = 'pending' and (stage = 'ingest' or stage like 'transform:%');
create index if not exists dead_letters_due on host.dead_letters (next_retry_at) where state = 'retrying';
create table if not exists host.plugins (
  name       text primary key,
  version    text not null,
  role       text not null,
  loaded_at  timestamptz not null default now()
);
create table if not exists host.checkpoints (
  plugin     text not null,
  source     text not null,
  position   bigint not null,
  updated_at timestamptz not null default now(),
  primary key (plugin, source)
);
alter table host.checkpoints add column if not exists part smallint not null default 0;
-- Renamed when checkpoints became per partition: a process of an older version, which would take one partition's
-- checkpoint for the whole log, fails on it rather than run events twice.
do $$ begin
  if exists (select 1 from information_schema.columns
             where table_schema = 'host' and table_name = 'checkpoints' and column_name = 'position') then
    alter table host.checkpoints rename column position to committed;
  end if;
end $$;
-- The watermark at the checkpoint (the latest event time up to it, in every partition): where a runner resumes.
alter table host.checkpoints add column if not exists watermark timestamptz;
do $$ begin
  if not exists (select 1 from pg_catalog.pg_index i
                 join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                 where i.indrelid = 'host.checkpoints'::pg_catalog.regclass and i.indisprimary and a.attname = 'part') then
    alter table host.checkpoints drop constraint checkpoints_pkey, add primary key (plugin, source, part);
  end if;
end $$;
-- A checkpoint kept before the log was partitioned (part 0 only) holds for every partition.
insert into host.checkpoints (plugin, source, part, committed, watermark)
  select c.plugin, c.source, p, c.committed, c.watermark from host.checkpoints c, generate_series(1, ${
  LOG_PARTITIONS - 1
}) p
  where c.part = 0
  on conflict do nothing;
create table if not exists host.members (
  member  text not null,
  plugin  text not null,
  seen_at timestamptz not null default now(),
  primary key (member, plugin)
);
create table if not exists host.source_offsets (
  topic      text not null,
  partition  int not null,
  "offset"   bigint not null,
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);
create table if not exists host.identities (
  id        text primary key,
  person    text not null,
  known     boolean not null,
  linked_at timestamptz not null default now()
);
create index if not exists identities_by_person on host.identities (person);
create table if not exists host.notices (
  id         bigint generated always as identity primary key,
  plugin     text not null,
  channel    text not null,
  payload    jsonb not null,
  created_at timestamptz not null default now()
);
alter table host.notices add column if not exists
  bytes int not null generated always as (pg_catalog.octet_length(payload::text)) stored;
create index if not exists notices_by_time on host.notices (created_at, id);
do $$ begin
  if pg_catalog.to_regclass('host.notice_usage') is null then
    create table host.notice_usage (
      plugin       text primary key,
      bytes        bigint not null default 0,
      window_start timestamptz not null default now(),
      window_bytes bigint not null default 0
    );
    -- Notices stored before they were counted (an older host): counted now, once.
    insert into host.notice_usage (plugin, bytes) select plugin, sum(bytes) from host.notices group by plugin;
  end if;
end $$;
create or replace function host.count_notices() returns trigger language plpgsql
  set search_path = pg_catalog as $$
begin
  insert into host.notice_usage as u (plugin, bytes) select plugin, sum(bytes) from added group by plugin
    on conflict (plugin) do update set bytes = u.bytes + excluded.bytes;
  return null;
end $$;
create or replace function host.uncount_notices() returns trigger language plpgsql
  set search_path = pg_catalog as $$
begin
  update host.notice_usage u set bytes = u.bytes - r.bytes
    from (select plugin, sum(bytes) as bytes from removed group by plugin) r where u.plugin = r.plugin;
  return null;
end $$;
create or replace trigger notices_counted after insert on host.notices
  referencing new table as added for each statement execute function host.count_notices();
create or replace trigger notices_uncounted after delete on host.notices
  referencing old table as removed for each statement execute function host.uncount_notices();
create table if not exists host.webhooks (
  name       text primary key,
  url        text not null,
  secret     text not null,
  plugin     text not null,
  channel    text not null,
  enabled    boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists webhooks_by_subject on host.webhooks (plugin, channel);
create table if not exists host.webhook_deliveries (
  webhook         text not null references host.webhooks (name) on delete cascade,
  notice_id       bigint not null references host.notices (id) on delete cascade,
  status          text not null default 'pending'
                  check (status in ('pending', 'retrying', 'delivered', 'dead')),
  attempts        int not null default 0,
  next_attempt_at timestamptz default now(),
  lease           uuid,
  last_status     int,
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz not null default now(),
  primary key (webhook, notice_id)
);
create index if not exists webhook_deliveries_due on host.webhook_deliveries (next_attempt_at)
  where status in ('pending', 'retrying');
-- Retention looks up a notice's deliveries, and deletes them with it.
create index if not exists webhook_deliveries_by_notice on host.webhook_deliveries (notice_id);
create table if not exists host.migrations (
  plugin     text not null,
  name       text not null,
  applied_at timestamptz not null default now(),
  primary key (plugin, name)
);
create or replace function host.only_the_host_commits() returns trigger language plpgsql
  set search_path = pg_catalog as $$
begin
  -- A plugin's scope is open (scope.ts): the COMMIT is the plugin's, not the host's, which closes the scope first.
  -- Every name is pg_catalog's: the plugin's operators (its schema is on its search path) cannot stand in.
  if pg_catalog.current_setting('analytics.scope', true) operator(pg_catalog.<>) '' then
    raise exception 'a plugin may not end the host''s transaction: it runs inside it';
  end if;
  return null;
end $$;
do $$ declare t text; begin
  foreach t in array array['checkpoints', 'dead_letters', 'migrations'] loop
    if not exists (select 1 from pg_catalog.pg_trigger
                   where tgname = 'only_the_host_commits' and tgrelid = ('host.' || t)::pg_catalog.regclass) then
      execute pg_catalog.format('create constraint trigger only_the_host_commits after insert or update on host.%I
        deferrable initially deferred for each row execute function host.only_the_host_commits()', t);
    end if;
  end loop;
end $$;
`;

/**
 * Creates the host's tables if missing and takes from every role what a plugin's role must not have (see
 * `hardening.ts`). Fails, saying what is open and how to close it, when the current user cannot: a least-privileged
 * runtime user needs a superuser to have run `deno task setup-db` once.
 */
export function migrateHost(store: Store): Promise<{ superuser: boolean }> {
  return store.transaction(async (tx) => {
    const [{ locks }] = await tx.query<{ locks: boolean }>(
      `select pg_catalog.has_function_privilege(current_user, '${HOST_LOCK}', 'execute') as locks`,
    );
    if (!locks) {
      throw new Error(
        `Cannot start: the database user may not call ${HOST_LOCK}; as a superuser, run deno task setup-db ` +
          "(docs/operations.md: Deploying with Kafka and PostgreSQL)",
      );
    }
    await tx.query("select pg_catalog.pg_advisory_xact_lock(727001)"); // several runtimes may start at once
    await tx.exec(HOST_SCHEMA);
    const open = await harden(tx);
    if (open.length > 0) {
      throw new Error(
        `Cannot start: every role of the database may still do what plugin roles must not (${open.length} ` +
          `privileges, such as '${
            open[0]
          }'); as a superuser, run deno task setup-db (docs/operations.md: Deploying with Kafka and PostgreSQL)`,
      );
    }
    return { superuser: await isSuperuser(tx) };
  });
}
