-- Events per UTC day, for where the dense part of the history lies (stray events far before or after it are not
-- "now" and do not shape training).
create table days (
  day     date primary key,
  events  int8 not null,
  last_ts timestamptz not null
);
insert into days (day, events, last_ts) select day, sum(events), max(last_ts) from activity group by day;

-- The end of the dense part of the history: the plugin's "now" (latest stays the latest event time seen).
alter table clock add column now timestamptz;
update clock set now = latest;

-- What scored each user: the baseline (model_version null) or a model.
alter table scores add column kind text not null default 'baseline';
alter table scores alter column model_version drop not null;
update scores set kind = m.kind from models m where m.version = scores.model_version;

-- The scheduled training: the dense end it last tried at, and why it failed, if it did.
alter table clock add column attempted timestamptz;
alter table clock add column training_error text;
update clock set attempted = (select max(as_of) from models);
