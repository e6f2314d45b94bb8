-- Per user and UTC day: what the features are computed from, for any moment in the past or now.
create table activity (
  user_id   text not null,
  day       date not null,
  events    int not null,
  views     int not null,
  carts     int not null,
  purchases int not null,
  spend     numeric not null,
  last_ts   timestamptz not null,
  primary key (user_id, day)
);
create index activity_by_day on activity (day);

-- Sessions: explicit ('s:<session_id>') or inferred ('a:<start ms>', 30 minutes of inactivity end one).
create table sessions (
  user_id     text not null,
  session_key text not null,
  explicit    boolean not null,
  started_at  timestamptz not null,
  ended_at    timestamptz not null,
  events      int not null,
  carted      boolean not null,
  purchased   boolean not null,
  primary key (user_id, session_key)
);
create index sessions_by_user on sessions (user_id, started_at);

-- Trained models, versioned with their holdout metrics; one is live.
create table models (
  version    int primary key,
  kind       text not null,
  trained_at timestamptz not null,
  as_of      timestamptz not null,
  samples    int not null,
  metrics    jsonb not null,
  model      jsonb not null,
  live       boolean not null
);

-- Each active user's latest score under the live model.
create table scores (
  user_id       text primary key,
  score         float8 not null,
  reasons       jsonb not null,
  features      jsonb not null,
  model_version int not null,
  as_of         timestamptz not null
);
create index scores_by_score on scores (score desc);

-- The latest event time seen, and the day of the last full rescoring.
create table clock (
  id       int primary key,
  latest   timestamptz not null,
  rescored date
);
