/**
 * Alert rules: their shape, checked at the edge, and their storage. A rule watches one KPI per hour or per day of event
 * time and fires on a window whose value is above or below a threshold, or rose or fell by a share from the window
 * before.
 * @module
 */
import { z } from "zod";
import { type Env, HttpError } from "@runtime/sdk";
import { KPI, KPI_NAMES } from "./kpis.ts";

type Db = Env["db"];

/** The window widths (ms). */
export const WINDOWS = { hour: 3_600_000, day: 86_400_000 } as const;
/** What makes a rule fire. */
export const CONDITIONS = ["above", "below", "rises_by", "falls_by"] as const;
/** The name a rule is saved under. */
export const RULE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A rule as `PUT /rules/:name` takes it. */
export const RuleBody = z.strictObject({
  kpi: z.string().regex(KPI, `must be one of ${KPI_NAMES.join(", ")}, or events.<event type>`)
    .describe(`${KPI_NAMES.join(", ")} (as the overview defines them), or events.<type>: the events of one type`),
  window: z.enum(Object.keys(WINDOWS) as (keyof typeof WINDOWS)[]).default("hour")
    .describe("the KPI per UTC hour or UTC day of event time"),
  condition: z.enum(CONDITIONS).describe(
    "above / below: the window's value is above / below threshold; rises_by / falls_by: it rose / fell by at least " +
      "threshold (a share: 0.3 is 30%) from the window before",
  ),
  threshold: z.number().finite().describe("a value of the KPI, or for rises_by / falls_by a share > 0"),
  min_events: z.int().min(0).max(1e9).default(0)
    .describe("windows with fewer events are not judged (for a change, both windows need them)"),
  grace_minutes: z.int().min(0).max(1440).default(5)
    .describe("a window is judged once the watermark is this far past its end, so that late events count"),
  enabled: z.boolean().default(true),
}).refine((r) => !r.condition.endsWith("_by") || r.threshold > 0, {
  message: "a rises_by or falls_by threshold is a share > 0 (0.3 is 30%)",
  path: ["threshold"],
});

/** A rule, resolved. */
export type RuleBody = z.infer<typeof RuleBody>;
/** A rule with its name. */
export type Rule = RuleBody & { name: string };

/** A stored rule: its version (new at each save), the next window it judges (ms; null until the first event), times. */
export type StoredRule = Rule & { version: number; next_window: number | null; created_at: string; updated_at: string };

/** Most rules: each is judged at every event that moves the watermark. */
export const MAX_RULES = 100;

/**
 * Saves rule `name`, replacing one of that name; says whether it was new. It judges windows from the one open at the
 * watermark on, the plugin's or the host's (`hostWatermark`), whichever is later: a rule is not news about the past,
 * even while the plugin catches up on the log. From the first event's window, before any. A 409 past
 * {@linkcode MAX_RULES}.
 */
export async function saveRule(
  db: Db,
  name: string,
  rule: RuleBody,
  hostWatermark: string | null,
): Promise<{ rule: StoredRule; created: boolean }> {
  const [row] = await db.query<Times & { created: boolean }>(
    `insert into rules (name, definition, next_window, created_at, updated_at)
     select $1, $2::jsonb,
       to_timestamp(floor(extract(epoch from greatest(watermark, $4::timestamptz)) * 1000 / $3) * $3 / 1000.0),
       now(), now()
     from state
     where (select count(*) from rules where name <> $1) < $5
     on conflict (name) do update set definition = excluded.definition, next_window = excluded.next_window,
       version = nextval('rule_versions'), updated_at = excluded.updated_at
     returning version, next_window, created_at, updated_at, created_at = updated_at as created`,
    [name, JSON.stringify(rule), WINDOWS[rule.window], hostWatermark, MAX_RULES],
  );
  if (!row) throw new HttpError(409, `at most ${MAX_RULES} rules: delete one before making '${name}'`);
  return { rule: stored(name, rule, row), created: row.created };
}

/** The stored rules, by name; only the enabled ones with `enabledOnly`. */
export async function loadRules(db: Db, enabledOnly = false): Promise<StoredRule[]> {
  const rows = await db.query<{ name: string; definition: RuleBody } & Times>(
    `select name, definition, version, next_window, created_at, updated_at from rules
     where not $1 or (definition->>'enabled')::boolean order by name`,
    [enabledOnly],
  );
  return rows.map((r) => stored(r.name, r.definition, r));
}

/** Deletes a rule; says whether there was one. Its fired alerts stay. */
export async function deleteRule(db: Db, name: string): Promise<boolean> {
  return (await db.query("delete from rules where name = $1 returning name", [name])).length > 0;
}

type Times = { version: number; next_window: string | null; created_at: string; updated_at: string };

function stored(name: string, rule: RuleBody, t: Times): StoredRule {
  const next = t.next_window === null ? null : new Date(t.next_window).getTime();
  const iso = (x: string) => new Date(x).toISOString();
  return {
    name,
    ...rule,
    version: Number(t.version),
    next_window: next,
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
  };
}
