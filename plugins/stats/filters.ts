/**
 * The SQL of a read of `event_facts` (alias `f`) filtered by property conditions and broken down by a property: an
 * event's property is in its `properties`, a user's is their `user_traits` row of that name.
 */
import { type Condition, conditionsSql, type Property, valueText } from "@runtime/sdk";

/** The SQL of a filtered read of `event_facts`: its joins, conditions, and the breakdown's value. */
export interface FactsSql {
  /** Joins of `user_traits` for the user properties named. */
  joins: string;
  /** The conditions, joined by `and` ("true" when none). */
  where: string;
  /** The breakdown's value as text (null when the event or user has none); "null" without a breakdown. */
  key: string;
}

/**
 * The SQL for `conditions` and `breakdown` over `event_facts f`, pushing each name and value to `params` (whose
 * placeholders continue from their number).
 */
export function factsSql(conditions: Condition[], breakdown: Property | null, params: unknown[]): FactsSql {
  const joins: string[] = [];
  const traits = new Map<string, string>();
  /** The property's value as jsonb (null when absent). */
  const read = (p: Property): string => {
    if (!p.user) return `f.properties -> $${params.push(p.name)}::text`;
    let alias = traits.get(p.name);
    if (alias === undefined) {
      alias = `t${traits.size}`;
      traits.set(p.name, alias);
      joins.push(
        `left join user_traits ${alias} on ${alias}.user_id = f.user_id and ${alias}.key = $${
          params.push(p.name)
        }::text`,
      );
    }
    return `${alias}.value`;
  };
  const where = conditionsSql(conditions, params, read);
  const key = breakdown === null ? "null::text" : valueText(read(breakdown));
  return { joins: joins.join("\n"), where, key };
}
