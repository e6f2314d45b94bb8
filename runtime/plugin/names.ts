/**
 * Which names a plugin may take. A plugin's name is also its Postgres schema, part of its role's name and its route
 * prefix `/api/<name>`, so names that mean something else in any of those places are refused, with one line saying
 * why, by the SDK (`definePlugin`) and again by the host when it discovers the folder.
 */

/** The shape of a plugin name: a lower-case letter, then up to 30 of a-z, 0-9 and `_`. */
export const PLUGIN_NAME = /^[a-z][a-z0-9_]{0,30}$/;

/** Schemas the database or the host already uses, and the host's own routes under `/api`. */
const TAKEN = new Set([
  "host",
  "public",
  "information_schema",
  "plugins",
  "stream",
  "openapi",
  "dead_letters",
  "docs",
  "webhooks",
]);

/**
 * PostgreSQL 15's keywords that are not "unreserved" (`select word from pg_get_keywords() where catcode <> 'U'`):
 * unquoted, they are not valid as a schema or role name.
 */
const SQL_KEYWORDS = new Set(
  `all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast
char character check coalesce collate collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp current_user dec decimal default deferrable
desc distinct do else end except exists extract false fetch float for foreign freeze from full grant greatest group
grouping having ilike in initially inner inout int integer intersect interval into is isnull join lateral leading
least left like limit localtime localtimestamp national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position precision primary real references
returning right row select session_user setof similar smallint some substring symmetric table tablesample then time
timestamp to trailing treat trim true union unique user using values varchar variadic verbose when where window
with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize
xmltable`.split(/\s+/),
);

/** Why `name` cannot name a plugin, or null when it can. */
export function pluginNameProblem(name: unknown): string | null {
  if (typeof name !== "string" || !PLUGIN_NAME.test(name)) {
    return `a plugin name must match ${PLUGIN_NAME.source}, got '${String(name).slice(0, 64)}'`;
  }
  if (name.startsWith("pg_")) return `'${name}' is reserved: names starting with pg_ belong to PostgreSQL`;
  if (TAKEN.has(name)) return `'${name}' is reserved: the database or the host already uses it`;
  if (SQL_KEYWORDS.has(name)) return `'${name}' is reserved: it is an SQL keyword`;
  return null;
}
