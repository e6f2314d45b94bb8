-- Which users were active in which minutes, one row per user and UTC hour: bit m of `minutes` is minute m
-- of the hour. A batch then writes a row per user and hour rather than per user and minute.
create table user_hours (
  hour    timestamptz not null,
  user_id text not null,
  minutes bigint not null,
  primary key (hour, user_id)
);
insert into user_hours (hour, user_id, minutes)
select date_trunc('hour', minute, 'UTC'), user_id, bit_or(1::int8 << extract(minute from minute at time zone 'UTC')::int)
from user_minutes
group by 1, 2;
drop table user_minutes;
