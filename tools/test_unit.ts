/**
 * `deno task test:unit`: the fast tier, every test file that runs in this process alone. A test file belongs to it
 * unless it (or a module it imports, followed through the repository) starts a runtime, a database, a sandbox or a
 * process: the harness, the plugin test kit, a store, the sandbox, `Deno.Command`. The full suite is `deno task test`.
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Modules that start something: a test reaching one is not a unit test. */
const HEAVY = [
  "tests/support/harness.ts",
  "testing/mod.ts",
  "runtime/store/pglite.ts",
  "runtime/store/postgres.ts",
  "runtime/plugin/sandbox.ts",
].map((p) => join(ROOT, p));

/** The import map's names for the repository's own modules (deno.json). */
const ALIASES: Record<string, string> = {
  "@runtime/sdk": join(ROOT, "runtime/sdk/mod.ts"),
  "@runtime/testing": join(ROOT, "testing/mod.ts"),
};

/** Every test file of the repository (`*_test.ts`), outside generated folders. */
async function testFiles(dir = ROOT): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "node_modules") {
      found.push(...await testFiles(path));
    } else if (entry.isFile && entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

/** Whether `file` starts something, itself or through what it imports from the repository. */
async function isHeavy(file: string, seen = new Map<string, boolean>()): Promise<boolean> {
  if (HEAVY.includes(file)) return true;
  if (seen.has(file)) return seen.get(file)!;
  seen.set(file, false);
  // An import spelled inside a string (a scaffold's template) may name no file: nothing to follow.
  const source = await Deno.readTextFile(file).catch(() => "");
  let heavy = source.includes("Deno.Command");
  const imports = source.matchAll(/(?:from|import)\s*\(?\s*["']((?:\.{1,2}\/|@runtime\/)[^"']+)["']/g);
  for (const [, specifier] of imports) {
    if (heavy) break;
    const path = ALIASES[specifier] ?? join(dirname(file), specifier);
    heavy = await isHeavy(path, seen);
  }
  seen.set(file, heavy);
  return heavy;
}

if (import.meta.main) {
  const seen = new Map<string, boolean>();
  const units: string[] = [];
  for (const file of await testFiles()) if (!await isHeavy(file, seen)) units.push(relative(ROOT, file));
  const args = ["test", "--allow-all", "--parallel", ...Deno.args, ...units];
  const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).spawn().status;
  Deno.exit(code);
}
