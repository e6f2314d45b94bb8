-- Page views (page_view and product_view) per session: the pages-per-session distribution.
alter table sessions add column pages bigint not null default 0;
