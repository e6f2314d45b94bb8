/**
 * Property conditions and breakdowns, as a query gives them (`where=country:eq:DE&breakdown=user.plan`), and the SQL
 * that tests them: shared by the plugins that filter or break down events by their properties (stats, funnel).
 *
 * A property is an event's (`country`) or its user's (`user.plan`: the user's latest trait of that name). A condition
 * is `<property>:<op>[:<value>]`; conditions hold together (and). Values compare as the event gives them written as
 * text (`10`, `true`, `DE`), and numerically for `gt`, `gte`, `lt` and `lte`, which only numbers meet.
 */
import { z } from "zod";

/** Property names a breakdown or a condition may use (a user's trait after `user.`). */
export const PROPERTY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The operators of a condition. */
export const OPERATORS = ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "set", "unset"] as const;
/**
 * The longest text value (in characters, as Postgres's length() counts them) a property or trait keeps for conditions
 * and breakdowns: longer ones are left out (a breakdown by a page's full URL is no breakdown).
 */
export const MAX_VALUE_LENGTH = 200;
/** The most conditions one query takes. */
export const MAX_CONDITIONS = 8;

/** One of {@linkcode OPERATORS}. */
export type Operator = (typeof OPERATORS)[number];

/** An event's property, or its user's trait. */
export interface Property {
  /** Whether it is the user's trait (`user.plan`) rather than the event's property. */
  user: boolean;
  /** Its name, without `user.`. */
  name: string;
}

/** One condition, parsed. */
export interface Condition {
  /** What it tests. */
  property: Property;
  /** How. */
  op: Operator;
  /** What with: text as given (a number for gt..lte); null for set and unset. */
  value: string | null;
}

const NUMERIC = new Set<Operator>(["gt", "gte", "lt", "lte"]);
const BARE = new Set<Operator>(["set", "unset"]);

/** Parses `country` or `user.plan`; null when it is neither. */
export function parseProperty(raw: string): Property | null {
  const user = raw.startsWith("user.");
  const name = user ? raw.slice(5) : raw;
  return PROPERTY.test(name) ? { user, name } : null;
}

/** A property as the query names it. */
export const propertyText = (p: Property): string => p.user ? `user.${p.name}` : p.name;

/** Parses one condition; a message saying what was expected otherwise. */
export function parseCondition(raw: string): Condition | string {
  const [name, op, ...rest] = raw.split(":");
  const property = parseProperty(name);
  if (property === null) return "must start with a property name such as country or user.plan";
  if (!(OPERATORS as readonly string[]).includes(op)) {
    return `must be <property>:<op>[:<value>], op one of ${OPERATORS.join(", ")}`;
  }
  const operator = op as Operator;
  const value = rest.length > 0 ? rest.join(":") : null;
  if (BARE.has(operator)) return value === null ? { property, op: operator, value } : `${op} takes no value`;
  if (value === null) return `${op} needs a value: ${name}:${op}:<value>`;
  if (value.length > 256) return "a value has at most 256 characters";
  if (NUMERIC.has(operator) && !/^-?\d{1,15}(\.\d{1,6})?$/.test(value)) return `${op} compares with a number`;
  return { property, op: operator, value };
}

/** The query's `breakdown`, `breakdown_limit` and `where`, as the routes that read them take them (zod fields). */
export const BreakdownFields = {
  breakdown: z.string().max(69).optional()
    .refine((s) => s === undefined || parseProperty(s) !== null, "must be a property name such as country or user.plan")
    .describe("break the answer down by this event property, or user property after `user.` (a trait)"),
  breakdown_limit: z.coerce.number().int().min(1).max(50).default(10)
    .describe("with `breakdown`: the values with the most events, 1..50 (default 10); the rest count as other"),
  where: z.array(z.string().max(400)).max(MAX_CONDITIONS, `at most ${MAX_CONDITIONS} conditions`).default([])
    .superRefine((all, ctx) => {
      for (const [i, raw] of all.entries()) {
        const parsed = parseCondition(raw);
        if (typeof parsed === "string") ctx.addIssue({ code: "custom", path: [i], message: parsed });
      }
    })
    .transform((all) => all.map((raw) => parseCondition(raw) as Condition))
    .describe(
      "only events meeting every condition: `<property>:<op>[:<value>]`, op one of eq, ne (or not set), gt, gte, lt, " +
        "lte (numbers), contains (any case), set, unset; repeat for more (e.g. where=country:eq:DE&where=user.plan:set)",
    ),
};

/**
 * SQL testing every one of `conditions` (joined by `and`; "true" when none), pushing each value to `params` (whose
 * placeholders continue from their number). `read` gives the SQL of a property's value as jsonb (null when absent).
 */
export function conditionsSql(conditions: Condition[], params: unknown[], read: (p: Property) => string): string {
  const where = conditions.map(({ property, op, value }) => {
    const v = read(property);
    const text = valueText(v);
    const given = () => `$${params.push(value)}::text`;
    const number = `(case when jsonb_typeof(${v}) = 'number' then ${text}::numeric end)`;
    switch (op) {
      case "eq":
        return `${text} = ${given()}`;
      case "ne":
        return `${text} is distinct from ${given()}`;
      case "gt":
        return `${number} > ${given()}::numeric`;
      case "gte":
        return `${number} >= ${given()}::numeric`;
      case "lt":
        return `${number} < ${given()}::numeric`;
      case "lte":
        return `${number} <= ${given()}::numeric`;
      case "contains":
        return `strpos(lower(${text}), lower(${given()})) > 0`;
      case "set":
        return `${text} is not null`;
      case "unset":
        return `${text} is null`;
    }
  });
  return where.join(" and ") || "true";
}

/** SQL: a jsonb value (SQL `v`) as the text conditions compare and breakdowns show; null for JSON null. */
export const valueText = (v: string): string => `(${v} #>> '{}')`;

/**
 * Orders a breakdown's values as Postgres's "C" collation does (by their UTF-8 bytes), with null (not set) after every
 * value: how stats and funnel break ties between values with as many events or users.
 */
export function compareValues(a: string | null, b: string | null): number {
  if (a === null || b === null) return (a === null ? 1 : 0) - (b === null ? 1 : 0);
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
