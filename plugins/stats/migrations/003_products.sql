-- Per product: views (product_view) and adds to cart, and its latest known category.
create table product_counts (
  product_id text primary key,
  category   text,
  views      bigint not null default 0,
  adds       bigint not null default 0
);

-- Purchases and their lines, as facts: revenue by product, category, country and device is summed on read.
create table purchases (
  event_id text primary key,
  user_id  text not null,
  ts       timestamptz not null,
  amount   numeric not null,
  country  text,
  device   text
);
create table purchase_items (
  event_id   text not null,
  line       int not null,
  product_id text not null,
  price      numeric not null,
  quantity   int not null,
  primary key (event_id, line)
);
create index purchase_items_product on purchase_items (product_id);
