-- Per minute (UTC) and event type: counts and purchase revenue.
create table minute_counts (
  minute  timestamptz not null,
  type    text not null,
  events  bigint not null,
  revenue numeric not null default 0,
  primary key (minute, type)
);

-- Which users were active in which minute: distinct users over any range of minutes.
create table user_minutes (
  minute  timestamptz not null,
  user_id text not null,
  primary key (minute, user_id)
);

-- Per user totals.
create table users (
  user_id    text primary key,
  events     bigint not null,
  purchases  bigint not null,
  spent      numeric not null,
  first_seen timestamptz not null,
  last_seen  timestamptz not null
);

-- Sessions: explicit ones keyed by session_id ('s:<id>'), inferred ones ('a:<start ms>') merged by
-- inactivity gaps under 30 minutes, in event time, whatever order events arrive in.
create table sessions (
  user_id     text not null,
  session_key text not null,
  explicit    boolean not null,
  started_at  timestamptz not null,
  ended_at    timestamptz not null,
  events      bigint not null,
  primary key (user_id, session_key)
);
create index sessions_by_time on sessions (started_at);
