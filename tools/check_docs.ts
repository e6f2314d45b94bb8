/**
 * The public surfaces' documentation check (in `deno task check`): `deno doc --lint` over the SDK (`@runtime/sdk`)
 * and the plugin test kit (`@runtime/testing`) must find nothing, but for one kind of finding it cannot help: a
 * signature naming a type of a package (zod's `ZodType`, Hono's `Context`), which it calls private because the
 * package's types are not re-exported (re-exporting them would lint the package's own documentation instead).
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SURFACES = ["runtime/sdk/mod.ts", "testing/mod.ts"];

/** One finding of `deno doc --lint`. */
export interface Finding {
  rule: string;
  message: string;
  file: string;
  line: number;
}

/** The findings in `deno doc --lint`'s output (colours stripped). */
export function parseFindings(output: string): Finding[] {
  const text = output.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), ""); // ANSI colours
  const found: Finding[] = [];
  for (const m of text.matchAll(/^error\[([a-z-]+)\]: (.*)\n\s*--> (.+?):(\d+):\d+/gm)) {
    found.push({ rule: m[1], message: m[2], file: m[3], line: Number(m[4]) });
  }
  return found;
}

/** Whether `type`, as `source` names it, is a package's: imported by name from one, or a member of one (`z.output`). */
export function isPackageType(source: string, type: string): boolean {
  for (const m of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/g)) {
    if (m[2].startsWith(".") || m[2].startsWith("@runtime/")) continue;
    const names = m[1].split(",").map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).at(-1));
    if (names.includes(type)) return true;
    if (names.some((n) => n && new RegExp(`\\b${n}\\.${type}\\b`).test(source))) return true;
  }
  return false;
}

/** The findings that are not a package's type named in a signature. */
export async function problems(findings: Finding[]): Promise<Finding[]> {
  const kept: Finding[] = [];
  for (const f of findings) {
    const type = f.rule === "private-type-ref" ? /references private type '([^']+)'/.exec(f.message)?.[1] : undefined;
    if (type && isPackageType(await Deno.readTextFile(f.file), type)) continue;
    kept.push(f);
  }
  return kept;
}

if (import.meta.main) {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...SURFACES],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const findings = parseFindings(output);
  if (!success && findings.length === 0) {
    console.error(`deno doc --lint failed, and its output holds no finding to judge:\n${output}`);
    Deno.exit(1);
  }
  const left = await problems(findings);
  for (const f of left) console.error(`${f.file}:${f.line}: ${f.rule}: ${f.message}`);
  if (left.length > 0) {
    console.error(`deno doc --lint ${SURFACES.join(" ")}: ${left.length} problems`);
    Deno.exit(1);
  }
  const aside = findings.length;
  console.log(`deno doc --lint ${SURFACES.join(" ")}: clean (${aside} package types named in signatures aside)`);
}
