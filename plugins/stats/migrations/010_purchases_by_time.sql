-- Revenue by country, category or device over a range of time reads purchases by their time.
create index purchases_by_time on purchases (ts);
