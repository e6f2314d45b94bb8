/**
 * The house rules `deno lint` enforces beyond its recommended set (`lint.plugins` in deno.json):
 *
 * - `plugin-imports`: a plugin (`plugins/<name>/`, `examples/<name>/`) imports only the SDK (`@runtime/sdk`), the
 *   test kit (`@runtime/testing`), packages (bare names of the import map, `npm:`, `node:`) and its own files.
 * - `host-imports`: the host (`runtime/`) imports no plugin, and its product code nothing of the tests or tools.
 * - `error-message`: in product code (not tests), an error's message (a literal or a template) says something in
 *   words and is a sentence fragment, with no full stop at the end: "Cannot start: PORT must be 1..65535, got 'abc'".
 * @module
 */

import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root: this file is in its `tools/`. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where a file lies in the repository: its path from the root, as segments (null outside it). */
function segments(filename: string): string[] | null {
  const path = relative(ROOT, filename);
  return path.startsWith("..") ? null : path.split(sep);
}

/** A relative specifier resolved against the file's folder, as segments from the root; null when not relative. */
function resolved(from: string[], specifier: string): string[] | null {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  const out = from.slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out;
}

/** What is wrong with a plugin's import of `specifier`, or null when it is allowed. */
export function pluginImportProblem(file: string[], specifier: string): string | null {
  const own = file.slice(0, 2).join("/");
  const target = resolved(file, specifier);
  if (target) {
    return target.slice(0, 2).join("/") === own
      ? null
      : `a plugin imports only its own files, the SDK and the test kit; '${specifier}' reaches ${target.join("/")}`;
  }
  if (specifier === "@runtime/sdk" || specifier === "@runtime/testing") return null;
  if (specifier.startsWith("@runtime/")) return `a plugin imports @runtime/sdk or @runtime/testing, not '${specifier}'`;
  if (/^(file|https?|jsr|data):/.test(specifier) || specifier.startsWith("/")) {
    return `a plugin imports packages by name (the import map, npm: or node:), not '${specifier}'`;
  }
  return null;
}

/** What is wrong with a host file's import of `specifier`, or null when it is allowed. */
export function hostImportProblem(file: string[], specifier: string): string | null {
  const target = resolved(file, specifier);
  const top = target?.[0];
  if (top === "plugins" || top === "examples") return `the host imports no plugin; '${specifier}' is one`;
  const isTest = /_test\.ts$/.test(file.at(-1) ?? "");
  if (!isTest && (top === "tests" || top === "testing" || top === "tools")) {
    return `the host's product code imports nothing of ${top}/; '${specifier}' does`;
  }
  return null;
}

/**
 * What is wrong with an error message made of the literal `parts` (a template's text around its interpolations), or
 * null: it says something in two words at least (each interpolation counts as one: it names something), and it is
 * a sentence fragment, with no full stop.
 */
export function errorMessageProblem(parts: string[]): string | null {
  const words = (parts.join(" ").match(/[A-Za-z]{2,}/g) ?? []).length + parts.length - 1; // an interpolation names
  if (words < 2) {
    return "an error message says in words what was expected and what was got; this one has fewer than two words";
  }
  if (/(^|[^.])\.\s*$/.test(parts.at(-1)!)) return "an error message is a sentence fragment: no full stop at the end";
  return null;
}

type Node = Deno.lint.Node;

/** The specifier of an import, re-export or dynamic import with a literal source. */
function specifierOf(node: Node): string | null {
  const source = (node as { source?: Node | null }).source;
  return source?.type === "Literal" && typeof source.value === "string" ? source.value : null;
}

/** The literal text of a string or template (the parts around its interpolations); null for other expressions. */
function literalParts(node: Node | undefined): string[] | null {
  if (node?.type === "Literal" && typeof node.value === "string") return [node.value];
  if (node?.type === "TemplateLiteral") return node.quasis.map((q) => q.cooked ?? q.raw);
  return null;
}

/** A rule on the imports (static, re-exports, dynamic) of the files it `applies` to. */
function importRule(
  applies: (file: string[]) => boolean,
  problemOf: (file: string[], specifier: string) => string | null,
): Deno.lint.Rule {
  return {
    create(context) {
      const file = segments(context.filename);
      if (!file || !applies(file)) return {};
      const check = (node: Node) => {
        const specifier = specifierOf(node);
        const problem = specifier === null ? null : problemOf(file, specifier);
        if (problem) context.report({ node, message: problem });
      };
      return {
        ImportDeclaration: check,
        ExportNamedDeclaration: check,
        ExportAllDeclaration: check,
        ImportExpression: check,
      };
    },
  };
}

/** The rules, as `deno lint` loads them. */
const plugin: Deno.lint.Plugin = {
  name: "runtime",
  rules: {
    "plugin-imports": importRule(
      (file) => (file[0] === "plugins" || file[0] === "examples") && file.length >= 3,
      pluginImportProblem,
    ),
    "host-imports": importRule((file) => file[0] === "runtime", hostImportProblem),
    "error-message": {
      create(context) {
        const file = segments(context.filename);
        const product = file && file[0] !== "tests" && !/_test\.ts$/.test(file.at(-1)!);
        if (!product) return {}; // a test's errors are props, not messages for people
        return {
          NewExpression(node) {
            if (node.callee.type !== "Identifier" || !/Error$/.test(node.callee.name)) return;
            const message = node.callee.name === "HttpError" ? node.arguments[1] : node.arguments[0];
            const parts = literalParts(message as Node | undefined);
            const problem = parts && errorMessageProblem(parts);
            if (problem) context.report({ node: message as Node, message: problem });
          },
        };
      },
    },
  },
};

export default plugin;
