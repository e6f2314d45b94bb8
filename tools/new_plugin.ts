/**
 * `deno task new-plugin <name> [--dir <plugins dir>]`: scaffolds a working plugin folder (mod.ts, a first migration,
 * a route, a panel, a README and a passing test) that counts events per type. Start from it and change what it counts.
 * @module
 */
import { resolve } from "node:path";
import { pluginNameProblem } from "../runtime/sdk/mod.ts";

/** A scaffold that cannot be written; its message is the one line shown. */
export class ScaffoldError extends Error {}

/** Where the scaffold is written and under what name. */
export interface ScaffoldArgs {
  name: string;
  /** The plugins folder (default `./plugins`). */
  dir: string;
}

const USAGE = "usage: deno task new-plugin <name> [--dir <plugins dir>]";

/** Parses the command line into {@linkcode ScaffoldArgs}, or throws a {@linkcode ScaffoldError}. */
export function parseArgs(args: string[]): ScaffoldArgs {
  const names: string[] = [];
  let dir = "plugins";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--dir") {
      if (args[i + 1] === undefined) throw new ScaffoldError(`--dir needs a folder; ${USAGE}`);
      dir = args[++i];
    } else if (arg.startsWith("--dir=")) dir = arg.slice("--dir=".length);
    else if (arg.startsWith("-")) throw new ScaffoldError(`unknown option '${arg}'; ${USAGE}`);
    else names.push(arg);
  }
  if (names.length !== 1) throw new ScaffoldError(`expected one plugin name, got ${names.length}; ${USAGE}`);
  return { name: names[0], dir };
}

/** Writes `<dir>/<name>/` and answers its path; refuses a bad name or an existing folder. */
export async function scaffold({ name, dir }: ScaffoldArgs): Promise<string> {
  const problem = pluginNameProblem(name);
  if (problem) throw new ScaffoldError(`Cannot create plugin: ${problem}`);
  const folder = resolve(dir, name);
  if (await exists(folder)) throw new ScaffoldError(`Cannot create plugin: ${folder} already exists`);
  await Deno.mkdir(`${folder}/migrations`, { recursive: true });
  await Deno.writeTextFile(`${folder}/mod.ts`, modTs(name));
  await Deno.writeTextFile(`${folder}/migrations/001_init.sql`, MIGRATION);
  await Deno.writeTextFile(`${folder}/README.md`, readme(name));
  await Deno.writeTextFile(`${folder}/${name}_test.ts`, testTs(name));
  return folder;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

const modTs = (name: string) =>
  `/**
 * \`${name}\`: counts events per type. A scaffold: change what it subscribes to, stores and answers.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { definePlugin, describeRoute, type Env } from "@runtime/sdk";

/** The answer of \`GET /counts\`, published in \`/api/openapi.json\`. */
export const Counts = z.object({ counts: z.array(z.object({ type: z.string(), events: z.number().int() })) });

const app = new Hono<{ Bindings: Env }>();

app.get("/counts", describeRoute({ summary: "Events seen per type, most first", response: Counts }), async (c) => {
  const counts = await c.env.db.sql<{ type: string; events: number }>\`
    select type, events from counts order by events desc, type\`;
  return c.json({ counts });
});

export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  subscribes: "*",
  async queue(batch, env) {
    // One set-based upsert per batch, committed with the plugin's checkpoint.
    await env.db.sql\`insert into counts (type, events)
      select t, count(*) from unnest(\${batch.map((e) => e.type)}::text[]) t group by t
      on conflict (type) do update set events = counts.events + excluded.events\`;
  },
  fetch: app, // the app itself, so its described routes are published
  panels: [{ title: "Events per type", route: "/counts", kind: "table" }],
});
`;

const MIGRATION = `create table counts (type text primary key, events bigint not null);
`;

// Each paragraph fits one line of 120 characters even for the longest name, so `deno fmt` leaves it as is.
const readme = (name: string) =>
  `# ${name}

Counts events per type (it subscribes to every type). Made by \`deno task new-plugin ${name}\`.

## Routes

- \`GET /api/${name}/counts\`: \`{ counts: [{ type, events }] }\`, most events first.
- Described with \`describeRoute\` in mod.ts, so it is listed in \`/api/openapi.json\` (and the docs at \`/docs\`).
- Panel "Events per type" (a table on the dashboard), from \`/counts\`.

## Tables

- \`${name}.counts (type, events)\`, created by \`migrations/001_init.sql\`.

## Testing

\`${name}_test.ts\` sends events through the real ingest path and checks \`/counts\` and its schema.

It runs the plugin alone in a real runtime: in-memory PGlite, its own sandbox, role and schema.

\`\`\`sh
deno test --allow-all plugins/${name}/
\`\`\`
`;

const testTs = (name: string) =>
  `import assert from "node:assert/strict";
import { testPlugin } from "@runtime/testing";
import { Counts } from "./mod.ts";

const event = (id: string, type: string) => ({
  event_id: id,
  type,
  user_id: "u1",
  timestamp: "2026-03-01T10:00:00Z",
});

Deno.test({
  name: "${name} counts events per type and answers them on /counts",
  // The plugin's sandbox and database outlive single ops; the harness stops them.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using h = await testPlugin(new URL("./", import.meta.url));
    await h.send([event("e1", "page_view"), event("e2", "search"), event("e3", "page_view")]);
    const counts = [{ type: "page_view", events: 2 }, { type: "search", events: 1 }];
    const answer = await h.get("/counts");
    assert.deepEqual(answer, { status: 200, body: { counts } });
    assert.deepEqual(Counts.parse(answer.body), answer.body); // it answers what it describes
    const info = await h.plugin();
    assert.deepEqual([info.status, info.processed, info.failed], ["running", 3, 0]);
  },
});
`;

if (import.meta.main) {
  try {
    const folder = await scaffold(parseArgs(Deno.args));
    console.log(`created ${folder}: restart the runtime to load it; test it with deno test --allow-all ${folder}`);
  } catch (e) {
    if (!(e instanceof ScaffoldError)) throw e;
    console.error(e.message);
    Deno.exit(1);
  }
}
