/**
 * The plugin host: discovery of `plugins/*\/mod.ts`, one sandboxed process per plugin, its own schema and
 * role, and the loop that feeds it the durable log with effectively-once checkpoints, per log partition, shared
 * between the processes on one database (`members.ts`).
 * @module
 */
export { ALONE, HEARTBEAT_MS, MEMBER_TTL_MS, Members, type Ownership } from "./members.ts";
export { PluginHost, type PluginHostOptions, type PluginInfo } from "./host.ts";
export { DEFAULT_RETRY, type RetryPolicy, type Status } from "./runner.ts";
export { checkStatement, splitStatements, SqlGuardError } from "./sql_guard.ts";
