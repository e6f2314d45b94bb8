-- Each event's place in the host's log: events of equal time are ordered by it (arrival), not by their ids.
-- Events stored before this migration have none; they sort after those that do, then by event_id, as before.
alter table events add column position int8;
