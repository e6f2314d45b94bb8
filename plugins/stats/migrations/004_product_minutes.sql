-- Product views per minute (UTC): what is viewed most right now, "now" being the watermark.
create table product_minutes (
  minute     timestamptz not null,
  product_id text not null,
  views      bigint not null,
  primary key (minute, product_id)
);
