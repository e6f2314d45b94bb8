/**
 * What a plugin's sandbox process is confined to, decided before it starts, by the layer below the plugin's code:
 * - its entry is a module made up by the host that imports the plugin statically, so Deno loads the plugin's code
 *   before any of it runs and the process needs no permission at all, from its first instruction;
 * - its environment is empty but for where Deno's cache is;
 * - the modules it loads come from its own folder, the runtime (the SDK) and npm packages in the cache: the host
 *   reads the plugin's module graph with `deno info` and refuses any other local file, and any symlink in the folder.
 */
import { fileURLToPath, pathToFileURL } from "node:url";

const CHILD = new URL("./_sandbox_child.ts", import.meta.url).href;
const PRELUDE = new URL("./_sandbox_prelude.ts", import.meta.url).href;
/** The runtime's own folder: the SDK and what it imports live here. */
const RUNTIME_DIR = fileURLToPath(new URL("../", import.meta.url));
/** The project's deno.json: its import map and lockfile are the sandbox's too. */
export const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** The sandbox's entry module for the plugin at `modPath`, as a `data:` URL. */
export function sandboxEntry(modPath: string): string {
  const source = [
    `import ${JSON.stringify(PRELUDE)};`,
    `import * as plugin from ${JSON.stringify(pathToFileURL(modPath).href)};`,
    `import { serve } from ${JSON.stringify(CHILD)};`,
    `await serve(plugin.default);`,
  ].join("\n");
  return `data:application/typescript,${encodeURIComponent(source)}`;
}

let denoDir: Promise<string> | undefined;

/** The whole environment of a sandbox (and of `deno info` on its graph): where Deno's cache is, and no more. */
export async function sandboxEnv(): Promise<Record<string, string>> {
  denoDir ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" })
      .output();
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  })();
  return {
    DENO_DIR: await denoDir,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    // Deno's caches stay in memory: a plugin importing endless data: modules cannot fill the disk.
    DENO_EMIT_CACHE_MODE: "disable",
    DENO_CACHE_DB_MODE: "disable",
  };
}

/**
 * Why the plugin in `dir` cannot be loaded as it stands, or null: a symlink anywhere in its folder, or a module in
 * its graph outside its folder and the runtime's.
 */
export async function confinementProblem(dir: string, modPath: string): Promise<string | null> {
  const link = await findSymlink(dir, "");
  if (link !== null) return `its folder holds a symlink, ${link}: plugins may not link to files outside their folder`;
  return await foreignModule(dir, modPath);
}

async function findSymlink(root: string, relative: string): Promise<string | null> {
  for await (const entry of Deno.readDir(`${root}/${relative}`)) {
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isSymlink) return path;
    if (entry.isDirectory) {
      const found = await findSymlink(root, path);
      if (found !== null) return found;
    }
  }
  return null;
}

/** The first local module of the plugin's graph outside its folder and the runtime's, as an error; else null. */
async function foreignModule(dir: string, modPath: string): Promise<string | null> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--frozen-lockfile", `--config=${CONFIG}`, sandboxEntry(modPath)],
    clearEnv: true,
    env: await sandboxEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0]; // NO_COLOR: plain text
    return `its modules cannot be resolved: ${why}`;
  }
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
  const allowed = [`${dir}/`, RUNTIME_DIR];
  for (const { specifier } of graph.modules) {
    if (!specifier.startsWith("file:")) continue;
    const path = fileURLToPath(specifier);
    if (!allowed.some((root) => path.startsWith(root))) {
      return `it imports ${path}, outside its folder: a plugin may import its own files, the SDK and npm packages`;
    }
  }
  return null;
}
