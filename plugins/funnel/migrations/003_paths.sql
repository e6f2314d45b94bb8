-- Each session's path: its event types in order (time, then position in the log, then event_id), a run of one type
-- kept once. A session stored before this version has none ('{}') until a batch touches it again: to count the whole
-- history, rebuild funnel from the log (docs/operations.md, "Upgrades"); filling it here would be one statement over
-- every session, longer than a plugin's statement time limit on a large history.
alter table sessions add column path text[] not null default '{}';

-- Paths over whole days read these counts rather than every session: per UTC day a session started, each of its walks
-- from the first time it did an event type, forward or back (`walk` nearest step first), up to 6 steps, and whether it
-- goes on past them (`more`). Each batch counts out the sessions it replaces and counts in those it makes. `shard` is
-- the log partition of the user whose batch wrote the count: runners own partitions, so they do not update the same
-- row (a dead-letter replay aside); readers add the shards up, and only the sums mean anything. A count that falls to 0
-- stays as a row.
create table path_walks (
  event    text not null,
  forward  boolean not null,
  day      date not null,
  walk     text[] not null,
  more     boolean not null,
  shard    smallint not null,
  sessions bigint not null,
  primary key (event, forward, day, walk, more, shard)
);
