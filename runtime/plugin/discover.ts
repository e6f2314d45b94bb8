import { PLUGIN_NAME } from "../sdk.ts";

/** A plugin folder found on disk. */
export interface PluginSource {
  name: string;
  dir: string;
  modPath: string;
  /** Migration files in apply order (by file name). */
  migrations: { name: string; sql: string }[];
}

const RESERVED = new Set(["host", "public", "information_schema", "plugins", "stream"]);

/** Why a folder under the plugins directory could not be taken as a plugin. */
export interface DiscoveryProblem {
  name: string;
  error: string;
}

/** Finds `<dir>/*\/mod.ts`, in name order, with each plugin's `migrations/*.sql`. */
export async function discoverPlugins(dir: string): Promise<{ plugins: PluginSource[]; problems: DiscoveryProblem[] }> {
  const root = await Deno.realPath(dir);
  const plugins: PluginSource[] = [];
  const problems: DiscoveryProblem[] = [];
  const entries = [];
  for await (const e of Deno.readDir(root)) if (e.isDirectory && !e.name.startsWith(".")) entries.push(e.name);
  for (const name of entries.sort()) {
    const pluginDir = `${root}/${name}`;
    if (!await exists(`${pluginDir}/mod.ts`)) continue;
    if (!PLUGIN_NAME.test(name) || RESERVED.has(name) || name.startsWith("pg_")) {
      problems.push({ name, error: `folder name must match ${PLUGIN_NAME} and not be reserved, got '${name}'` });
      continue;
    }
    plugins.push({ name, dir: pluginDir, modPath: `${pluginDir}/mod.ts`, migrations: await readMigrations(pluginDir) });
  }
  return { plugins, problems };
}

async function readMigrations(pluginDir: string): Promise<{ name: string; sql: string }[]> {
  const dir = `${pluginDir}/migrations`;
  if (!await exists(dir)) return [];
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".sql")) names.push(e.name);
  return await Promise.all(
    names.sort().map(async (name) => ({ name, sql: await Deno.readTextFile(`${dir}/${name}`) })),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
