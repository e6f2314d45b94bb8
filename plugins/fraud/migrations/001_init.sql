-- Every purchase with what was known when it was scored: the rules' score, the model's, the decision.
create table purchases (
  event_id   text primary key,
  user_id    text not null,
  ts         timestamptz not null,
  amount     numeric not null,
  country    text,
  device     text,
  score      numeric,
  flagged    boolean,
  reasons    jsonb,
  features   jsonb,
  model_p    float8
);
create index purchases_by_user on purchases (user_id, ts);

-- Where each user has been seen from: each country and device, first seen when (event time).
create table places (
  user_id    text not null,
  kind       text not null, -- 'country' or 'device'
  value      text not null,
  first_seen timestamptz not null,
  primary key (user_id, kind, value)
);

-- Each user's first event.
create table accounts (
  user_id    text primary key,
  first_seen timestamptz not null
);

-- The store's purchase amounts on a log scale (bucket k holds amounts in [1.05^k, 1.05^(k+1)) − 1): percentiles.
create table amounts (
  bucket int primary key,
  n      bigint not null
);

-- The rules, as data: kind, parameters, points and whether they count; each edit makes a new version.
create table rules (
  rule_id    text primary key,
  kind       text not null,
  params     jsonb not null,
  points     numeric not null,
  enabled    boolean not null,
  version    int not null,
  updated_at timestamptz not null
);
create table rule_history (
  rule_id    text not null,
  version    int not null,
  definition jsonb,
  changed_at timestamptz not null,
  primary key (rule_id, version)
);
-- The decision threshold and the ruleset's version (bumped by every edit).
create table settings (
  id        int primary key,
  threshold numeric not null,
  version   int not null
);

-- Alerts: flagged purchases with their reasons.
create table alerts (
  alert_id   text primary key,
  event_id   text not null unique,
  user_id    text not null,
  score      numeric not null,
  reasons    jsonb not null,
  amount     numeric not null,
  event_time timestamptz not null,
  created_at timestamptz not null,
  ruleset    int not null
);
create index alerts_by_created on alerts (created_at desc);

-- Learned models (CART on labelled outcomes), with their holdout comparison against the rules.
create table models (
  version    int primary key,
  trained_at timestamptz not null,
  metrics    jsonb not null,
  model      jsonb not null,
  enabled    boolean not null
);

-- Outcomes an analyst confirmed: the labels the learned model trains on.
create table labels (
  event_id   text primary key,
  fraud      boolean not null,
  labelled_at timestamptz not null
);

insert into settings (id, threshold, version) values (1, 60, 1);
insert into rules (rule_id, kind, params, points, enabled, version, updated_at) values
  ('amount_vs_user', 'amount_vs_user', '{"min_history": 3, "mad_k": 5, "ratio": 3}', 35, true, 1, now()),
  ('amount_vs_store', 'amount_vs_store', '{"percentile": 0.995, "multiple": 1}', 20, true, 1, now()),
  ('amount_far_above_store', 'amount_vs_store', '{"percentile": 0.995, "multiple": 2}', 60, true, 1, now()),
  ('velocity', 'velocity', '{"window_s": 120, "max_count": 3}', 60, true, 1, now()),
  ('spend_velocity', 'velocity', '{"window_s": 3600, "max_count": 1000, "max_sum": 5000}', 30, true, 1, now()),
  ('new_country_device', 'new_country_device', '{"recent_h": 24, "min_account_days": 3, "match": "both"}', 60, true, 1, now()),
  ('new_country_or_device', 'new_country_device', '{"recent_h": 24, "min_account_days": 3, "match": "one"}', 10, true, 1, now()),
  ('card_testing', 'card_testing', '{"window_s": 1800, "max_amount": 5, "min_count": 4}', 70, true, 1, now()),
  -- Fires only while a learned model is enabled (see POST /model/train).
  ('learned_model', 'model', '{"min_probability": 0.5}', 60, true, 1, now());
insert into rule_history (rule_id, version, definition, changed_at)
  select rule_id, 1, jsonb_build_object('kind', kind, 'params', params, 'points', points, 'enabled', enabled), now()
  from rules;
