-- Per UTC hour of event time and event type: events, and the revenue of purchases.
create table hours (
  hour    timestamptz not null,
  type    text not null,
  events  bigint not null,
  revenue numeric not null default 0,
  primary key (hour, type)
);

-- The plugin's clock: the watermark, which windows close as it passes, and the last event times it follows.
create table state (
  watermark timestamptz,
  recent    float8[] not null default '{}'
);
insert into state values (null, '{}');

-- Rules as data. version is drawn anew at each save (a rule deleted and made again gets another); next_window is the
-- next window the rule judges (null until the first event).
create sequence rule_versions;
create table rules (
  name        text primary key,
  definition  jsonb not null,
  version     bigint not null default nextval('rule_versions'),
  next_window timestamptz,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);

-- What fired: once per rule, window width and window.
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
  unique (rule, "window", window_start)
);
create index fired_by_rule on fired (rule, id);
