/** Custom funnels: their shape, checked at the edge, and their storage. */
import { z } from "zod";
import { type Env, PROPERTY } from "@runtime/sdk";
import { ORDERS } from "./match.ts";

type Db = Env["db"];

/** What an event type looks like. */
export const EVENT_TYPE = /^[a-z][a-z0-9_.]{0,63}$/;
/** The default conversion window: 14 days. */
export const DEFAULT_WINDOW_S = 14 * 86_400;
/** The longest conversion window: 365 days. */
export const MAX_WINDOW_S = 365 * 86_400;

const Scalar = z.union([z.string().max(256), z.number(), z.boolean()]);

/** A step, resolved: an event type and the properties (at most 8) the event must have. */
export const ResolvedStep = z.strictObject({
  type: z.string().regex(EVENT_TYPE, "must be an event type"),
  where: z.record(z.string().regex(PROPERTY, "must be a property name"), Scalar)
    .refine((w) => Object.keys(w).length <= 8, "at most 8 properties")
    .default({}),
});

/** A step: an event type, optionally with properties the event must have; a bare type is short for `{ type }`. */
const Step = z.preprocess((s) => typeof s === "string" ? { type: s } : s, ResolvedStep);

/** A custom funnel as `POST /definitions` takes it; steps may be bare event types. */
export const Definition = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be 1..64 of a-z, 0-9, '_' and '-'"),
  steps: z.array(Step).min(2, "a funnel has 2 to 8 steps").max(8, "a funnel has 2 to 8 steps"),
  order: z.enum(ORDERS).default("sequential"),
  window_seconds: z.int().min(1).max(MAX_WINDOW_S).default(DEFAULT_WINDOW_S),
});

/** A custom funnel, resolved: every step is `{ type, where }`. */
export type Definition = z.infer<typeof Definition>;

/** A stored funnel with its timestamps. */
export type Saved = Definition & { created_at: string; updated_at: string };

/** Saves `d`, replacing a funnel of the same name; says whether it was new. */
export async function saveDefinition(db: Db, d: Definition): Promise<{ saved: Saved; created: boolean }> {
  const [row] = await db.query<{ created_at: string; updated_at: string; created: boolean }>(
    `insert into definitions (name, definition, created_at, updated_at) values ($1, $2::jsonb, now(), now())
     on conflict (name) do update set definition = excluded.definition, updated_at = excluded.updated_at
     returning created_at, updated_at, created_at = updated_at as created`,
    [d.name, JSON.stringify(d)],
  );
  return { saved: { ...d, created_at: row.created_at, updated_at: row.updated_at }, created: row.created };
}

/** The stored funnels, by name; one when `name` is given. */
export async function loadDefinitions(db: Db, name?: string): Promise<Saved[]> {
  const rows = await db.query<{ definition: Definition; created_at: string; updated_at: string }>(
    `select definition, created_at, updated_at from definitions where $1::text is null or name = $1 order by name`,
    [name ?? null],
  );
  return rows.map((r) => ({ ...r.definition, created_at: r.created_at, updated_at: r.updated_at }));
}

/** Deletes a funnel; says whether there was one. */
export async function deleteDefinition(db: Db, name: string): Promise<boolean> {
  const rows = await db.query("delete from definitions where name = $1 returning name", [name]);
  return rows.length > 0;
}
