-- Retention, in event time. Which event types each user had on each UTC day (the returns), and each user's first UTC
-- day overall (type '') and per event type (the cohorts). Written from this version on: a deployment with older
-- events rebuilds stats' tables from the log to fill them (docs/operations.md, "Upgrades").
create table user_days (
  user_id text not null,
  day     date not null,
  types   text[] not null,
  primary key (user_id, day)
);
create table user_firsts (
  type    text not null,
  user_id text not null,
  day     date not null,
  primary key (type, user_id)
);
create index user_firsts_by_day on user_firsts (type, day);
