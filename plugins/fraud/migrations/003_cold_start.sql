-- Rules for what the first rules missed on a world the simulator did not make (see the README's "Measured"):
-- - an outsized first purchase within an hour of an account's first sighting while the store is young, judged against
--   the store's median (its top percentile is then only its few largest orders, which may be fraud themselves);
-- - a burst of orders that are large for the store (its top quarter) over minutes rather than seconds;
-- - card testing spread over hours.
-- Added unless a rule of that id exists; the ruleset's version moves on.
insert into rules (rule_id, kind, params, points, enabled, version, updated_at) values
  ('new_account_outlier', 'new_account',
   '{"max_account_h": 1, "max_purchases": 0, "min_median_multiple": 10, "min_samples": 5, "max_samples": 100}', 60, true,
   1, now()),
  ('order_burst', 'velocity', '{"window_s": 3600, "max_count": 3, "min_percentile": 0.75}', 60, true, 1, now()),
  ('slow_card_testing', 'card_testing', '{"window_s": 43200, "max_amount": 5, "min_count": 6}', 70, true, 1, now())
on conflict (rule_id) do nothing;
insert into rule_history (rule_id, version, definition, changed_at)
  select rule_id, 1, jsonb_build_object('kind', kind, 'params', params, 'points', points, 'enabled', enabled), now()
  from rules r where rule_id in ('new_account_outlier', 'order_burst', 'slow_card_testing')
    and not exists (select 1 from rule_history h where h.rule_id = r.rule_id);
update settings set version = version + 1;
