import { confinementProblem } from "./confine.ts";
import { pluginNameProblem } from "./names.ts";

/** A plugin folder found on disk. */
export interface PluginSource {
  name: string;
  dir: string;
  modPath: string;
  /** Migration files in apply order (by file name). */
  migrations: { name: string; sql: string }[];
}

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
  for await (const e of Deno.readDir(root)) {
    if ((e.isDirectory || e.isSymlink) && !e.name.startsWith(".")) entries.push(e.name);
  }
  for (const name of entries.sort()) {
    const found = await discoverPlugin(root, name);
    if (found && "error" in found) problems.push(found);
    else if (found) plugins.push(found);
  }
  return { plugins, problems };
}

/** The plugin in folder `<root>/<name>`: null when there is no `mod.ts` there, a problem when it cannot be one. */
export async function discoverPlugin(root: string, name: string): Promise<PluginSource | DiscoveryProblem | null> {
  const pluginDir = `${root}/${name}`;
  if (!await exists(`${pluginDir}/mod.ts`)) return null;
  const badName = pluginNameProblem(name);
  if (badName) return { name, error: badName };
  if ((await Deno.lstat(pluginDir)).isSymlink) {
    return { name, error: "its folder is a symlink: a plugin's folder must lie in the plugins folder itself" };
  }
  const modPath = `${pluginDir}/mod.ts`;
  const unconfined = await confinementProblem(pluginDir, modPath);
  if (unconfined) return { name, error: `plugin ${name} cannot be loaded: ${unconfined}` };
  return { name, dir: pluginDir, modPath, migrations: await readMigrations(pluginDir) };
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
