-- Retention over any event, without reading per-user rows: users by the UTC day they were first seen and each day
-- they were active on (their first day included), and the same by week (from Monday). Kept with user_days and
-- user_firsts, in the same batches; filled here from what those hold.
create table cohort_days (
  first date not null,
  day   date not null,
  users bigint not null,
  primary key (first, day)
);
create table cohort_weeks (
  first date not null,
  week  date not null,
  users bigint not null,
  primary key (first, week)
);
insert into cohort_days (first, day, users)
select f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id
where f.type = '' group by 1, 2;
insert into cohort_weeks (first, week, users)
select f.week, d.week, count(*)
from (select user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts where type = '') f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days) d
  on d.user_id = f.user_id
group by 1, 2;
