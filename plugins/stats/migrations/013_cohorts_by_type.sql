-- Retention from a chosen first event, read from counts as retention from any event is: cohort_days and cohort_weeks
-- gain the start type ('' for the first event of any type: the rows they held until now). A user counts under the
-- first day (week) of each type they did, at that day and each later day (week) they were active on. Each batch reads
-- every first day of its users, so user_firsts is keyed by user first.
alter table user_firsts drop constraint user_firsts_pkey, add primary key (user_id, type);

alter table cohort_days add column type text not null default '';
alter table cohort_days alter column type drop default;
alter table cohort_days drop constraint cohort_days_pkey, add primary key (type, first, day);
alter table cohort_weeks add column type text not null default '';
alter table cohort_weeks alter column type drop default;
alter table cohort_weeks drop constraint cohort_weeks_pkey, add primary key (type, first, week);

-- Filled from user_firsts and user_days, an eighth of the users at a time: each statement runs within the plugin's
-- statement time limit, and one over every user took 4.8 s (days) and 3.0 s (weeks) at 10 million events
-- (docs/performance.md).
insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 0 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 0) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 0) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 1 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 1) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 1) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 2 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 2) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 2) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 3 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 3) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 3) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 4 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 4) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 4) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 5 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 5) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 5) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 6 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 6) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 6) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;

insert into cohort_days (type, first, day, users)
select f.type, f.day, d.day, count(*) from user_firsts f join user_days d on d.user_id = f.user_id and d.day >= f.day
where f.type <> '' and abs(hashtext(f.user_id) % 8) = 7 group by 1, 2, 3
on conflict (type, first, day) do update set users = cohort_days.users + excluded.users;
insert into cohort_weeks (type, first, week, users)
select f.type, f.week, d.week, count(*)
from (select type, user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_firsts
      where type <> '' and abs(hashtext(user_id) % 8) = 7) f
join (select distinct user_id, day - (day - date '1970-01-01' + 3) % 7 as week from user_days
      where abs(hashtext(user_id) % 8) = 7) d
  on d.user_id = f.user_id and d.week >= f.week
group by 1, 2, 3
on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users;
