-- Products over a range: views and adds to cart per minute (`product_minutes` gains adds) for the range's partial days,
-- and per UTC day, with purchases and revenue, for its whole days. Both fill from the events stats takes from this
-- version on: filling them here from the history would be one statement over all of it, which can outlast the plugin's
-- statement time limit (docs/operations.md, "Upgrades").
alter table product_minutes add column adds bigint not null default 0;
create table product_days (
  day        date not null,
  product_id text not null,
  views      bigint not null default 0,
  adds       bigint not null default 0,
  purchases  bigint not null default 0,
  revenue    numeric not null default 0,
  primary key (day, product_id)
);
-- Videos over a range: a view is placed at its first event's time. Views stored before this version have none, and
-- count only when no range is asked.
alter table video_views add column first_at timestamptz;
create index video_views_by_time on video_views (first_at) where first_at is not null;
