-- Every event, slim: funnels are evaluated over these facts when they are asked for, so a new or edited
-- funnel answers over the whole history. `properties` holds the event's properties without `items`.
create table events (
  event_id   text primary key,
  user_id    text not null,
  session_id text,
  ts         timestamptz not null,
  type       text not null,
  properties jsonb not null
);
create index events_by_user on events (user_id, session_id, ts);
create index events_by_type on events (type, ts);

-- Sessions, recomputed from `events` whenever a batch touches them: explicit ones keyed 's:<session_id>',
-- inferred ones 'a:<start ms>' (30 minutes of inactivity end one). `reached` is the furthest step of the
-- default funnel done in order (0..4), with the time of each step.
create table sessions (
  user_id      text not null,
  session_key  text not null,
  started_at   timestamptz not null,
  ended_at     timestamptz not null,
  events       int not null,
  reached      smallint not null,
  view_at      timestamptz,
  cart_at      timestamptz,
  checkout_at  timestamptz,
  purchase_at  timestamptz,
  has_cart     boolean not null,
  has_purchase boolean not null,
  cart_value   numeric not null,
  country      text,
  device       text,
  primary key (user_id, session_key)
);
create index sessions_by_start on sessions (started_at);
create index sessions_by_end on sessions (ended_at) where has_cart and not has_purchase;

-- Custom funnels, created over the API.
create table definitions (
  name       text primary key,
  definition jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
