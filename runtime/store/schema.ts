import type { Store } from "./store.ts";

/**
 * The host's own tables, in schema `host`, which no plugin role can reach.
 * - `events`: the durable log; `position` is dense and increasing, assigned under one lock at commit.
 * - `dead_letters`: every rejected item, by stage (`ingest` or `plugin:<name>`); `replayed_at` once replayed.
 * - `plugins`: the registry of loaded plugins and their roles.
 * - `checkpoints`: per plugin and source, the last position whose effects that plugin committed.
 * - `migrations`: which of each plugin's migration files were applied.
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
create table if not exists host.source_offsets (
  topic      text not null,
  partition  int not null,
  "offset"   bigint not null,
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);
create table if not exists host.migrations (
  plugin     text not null,
  name       text not null,
  applied_at timestamptz not null default now(),
  primary key (plugin, name)
);
`;

/**
 * Closes the ways a plugin role could act as another on a shared connection: functions (whose bodies,
 * SQL or procedural, can run \`SET ROLE\` written in ways no text check sees) and
 * \`set_config('role', ...)\`. Needs superuser; where the server's user is not one, the statement guard
 * in the plugin host (which refuses CREATE FUNCTION and CREATE PROCEDURE) still applies.
 */
const HARDENING = `
revoke usage on language plpgsql from public;
revoke usage on language sql from public;
revoke execute on function pg_catalog.set_config(text, text, boolean) from public;
revoke create on schema public from public;
`;

/** Creates the host's tables if missing and hardens the database against plugin roles. */
export function migrateHost(store: Store): Promise<{ hardened: boolean }> {
  return store.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(727001)"); // several runtimes may start at once
    await tx.exec(HOST_SCHEMA);
    const [{ su }] = await tx.query<{ su: boolean }>(
      "select rolsuper as su from pg_roles where rolname = current_user",
    );
    if (su) await tx.exec(HARDENING);
    return { hardened: su };
  });
}
