-- Facts, one row per event, keyed by its event_id. The numbers are computed from them when asked for, so they
-- come out the same whatever order the events arrived in: a late purchase simply joins the searches before it.

-- Every search with a term (trimmed and lower-cased).
create table searches (
  event_id   text primary key,
  term       text not null,
  user_id    text not null,
  session_id text,
  ts         timestamptz not null
);
create index searches_by_term on searches (term);

-- Every add_to_cart and purchase: what may follow a search. `amount` is a purchase's, null for a cart.
create table conversions (
  event_id   text primary key,
  type       text not null check (type in ('add_to_cart', 'purchase')),
  user_id    text not null,
  session_id text,
  ts         timestamptz not null,
  amount     numeric
);
create index conversions_by_user on conversions (user_id, ts);
