-- Per UTC hour of event time and event type: events, and the revenue of purchases.
create table hours (
  hour    timestamptz not null,
  type    text not null,
  events  bigint not null,
  revenue numeric not null default 0,
  primary key (hour, type)
);

-- The latest event time the plugin has seen: windows close as it passes them.
create table state (watermark timestamptz);
insert into state values (null);

-- Rules as data; next_window is the next window each judges (null until the first event); version counts saves.
create table rules (
  name        text primary key,
  definition  jsonb not null,
  version     bigint not null default 1,
  next_window timestamptz,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);

-- What fired: once per rule and window.
create table fired (
  id           bigserial primary key,
  rule         text not null,
  kpi          text not null,
  "window"     text not null,
  condition    text not null,
  threshold    float8 not null,
  window_start timestamptz not null,
  value        float8 not null,
  previous     float8,
  events       bigint not null,
  judged_at    timestamptz not null,
  unique (rule, window_start)
);
