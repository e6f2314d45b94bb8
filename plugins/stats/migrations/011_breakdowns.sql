-- Breakdowns and filters by any property read every event, slim: its time, type, user, a purchase's amount (null for
-- other events) and its properties without `items` and `traits`. Events stored before this version are not here: to
-- break down the whole history, rebuild stats from the log (docs/operations.md, "Upgrades").
create table event_facts (
  ts         timestamptz not null,
  type       text not null,
  user_id    text not null,
  amount     numeric,
  properties jsonb not null
);
create index event_facts_by_time on event_facts (ts);
create index event_facts_by_user on event_facts (user_id);

-- User properties: each trait's latest value, by event time and then place in the log, from the `traits` of any event
-- (Segment's identify puts them there).
create table user_traits (
  user_id  text not null,
  key      text not null,
  value    jsonb not null,
  ts       timestamptz not null,
  position int8 not null,
  primary key (user_id, key)
);
create index user_traits_by_key on user_traits (key);

-- The event property names seen, with how many events carried each: what a breakdown or a filter may name.
create table property_names (
  name   text primary key,
  events int8 not null
);
