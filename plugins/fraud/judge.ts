/**
 * Judging purchases: the ruleset, the enabled learned model, the store's amounts and every probe's context come in
 * one statement (a checkout's `POST /score` is one round of SQL), then the rules and the model decide.
 */
import type { Env, Event } from "@runtime/sdk";
import { contextsParams, contextsSql, type Probe, readContexts } from "./context.ts";
import { evaluate, type Rule } from "./rules.ts";
import { featuresOf, predict, type TreeNode } from "./model.ts";

type Db = Env["db"];

/** The rules, the threshold and the ruleset's version. */
export type Ruleset = { rules: Rule[]; threshold: number; version: number };

/** The ruleset, the enabled learned model (if any) and the store's amounts: what every decision reads. */
type Setup = Ruleset & {
  model: { version: number; model: TreeNode } | null;
  amounts: { bucket: number; n: number }[];
};

/** SQL: everything {@linkcode Setup} holds, as one JSON value. */
const SETUP = `(select json_build_object(
    'rules', (select coalesce(json_agg(json_build_object('rule_id', rule_id, 'kind', kind, 'params', params,
                'points', points, 'enabled', enabled) order by rule_id), '[]') from rules),
    'threshold', s.threshold,
    'version', s.version,
    'model', (select json_build_object('version', version, 'model', model) from models where enabled limit 1),
    'amounts', (select coalesce(json_agg(json_build_object('bucket', bucket, 'n', n) order by bucket), '[]')
                from amounts)
  ) from settings s)`;

/**
 * SQL: the seconds of recent purchases a context holds: the longest rule window, and at least the 30 minutes the
 * learned model's features look at (as `longestWindow` in rules.ts).
 */
const WINDOW = `greatest(1800, (select coalesce(max((params->>'window_s')::int8), 0) from rules))`;

/** SQL: the probes' user ids, each merged id resolved to its person (a candidate may name an id merged away). */
const PERSONS = `array(select coalesce((select person from persons where id = u), u)
  from unnest($2::text[]) with ordinality as x(u, i) order by i)`;

/** A decision on one probe. */
export interface Judged {
  score: number;
  reasons: string[];
  features: number[];
  /** The learned model's probability, when one is enabled. */
  p: number | null;
  flagged: boolean;
}

/**
 * Judges probes. The learned model (when enabled) sees what the other rules made of the purchase, and speaks
 * through the `model` rule, so every alert comes from rules with reasons. Stored probes are under their person
 * already (the host rewrites merged ids); candidates are resolved to theirs.
 */
export async function judge(db: Db, probes: Probe[]): Promise<{ set: Setup; results: Judged[] }> {
  const users = probes.every((p) => p.stored) ? "$2::text[]" : PERSONS;
  const [row] = await db.query<{ setup: string; contexts: string }>(
    `select ${SETUP}::text as setup, (${contextsSql(users, WINDOW)}) as contexts`,
    contextsParams(probes),
  );
  const set = JSON.parse(row.setup) as Setup;
  const results = readContexts(row.contexts, probes, set.amounts).map((c) => {
    const base = evaluate(set.rules.filter((r) => r.kind !== "model"), c);
    const features = featuresOf(c, base.score);
    const learned = set.model && { version: set.model.version, ...predict(set.model.model, features) };
    const { score, reasons } = learned ? evaluate(set.rules, { ...c, learned }) : base;
    return { score, reasons, features, p: learned?.p ?? null, flagged: score >= set.threshold };
  });
  return { set, results };
}

/** A stored event as a probe. */
export const probeOf = (e: Event): Probe => ({
  event_id: e.event_id,
  user_id: e.user_id,
  ts: e.timestamp,
  amount: e.properties.amount ?? 0,
  country: e.properties.country ?? null,
  device: e.properties.device ?? null,
  stored: true,
});
