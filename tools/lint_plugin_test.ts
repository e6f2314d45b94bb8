import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import plugin from "./lint_plugin.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The rule ids and messages `deno lint` reports for `source` as the file at `path` (from the repository's root). */
function lint(path: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, `${ROOT}${path}`, source).map((d) => `${d.id}: ${d.message}`);
}

Deno.test("plugin-imports: a plugin imports the SDK, the test kit, packages and its own files, nothing else", () => {
  const allowed = [
    `import { definePlugin } from "@runtime/sdk";`,
    `import { testPlugin } from "@runtime/testing";`,
    `import { Hono } from "hono";`,
    `import { DecisionTreeClassifier } from "ml-cart";`,
    `import assert from "node:assert/strict";`,
    `import * as api from "./api.ts";`,
    `import { x } from "./lib/deep.ts";`,
    `export { y } from "./api.ts";`,
  ];
  assert.deepEqual(lint("plugins/searches/mod.ts", allowed.join("\n")), []);
  assert.deepEqual(lint("examples/search_terms/mod.ts", allowed.join("\n")), []);
  assert.deepEqual(lint("plugins/searches/mod.ts", `import { x } from "../../runtime/core/event.ts";`), [
    "runtime/plugin-imports: a plugin imports only its own files, the SDK and the test kit; " +
    "'../../runtime/core/event.ts' reaches runtime/core/event.ts",
  ]);
  const refused = [
    `import { h } from "../../tests/support/harness.ts";`,
    `import { s } from "../stats/api.ts";`,
    `export * from "../funnel/mod.ts";`,
    `const m = await import("../../runtime/plugin/host.ts");`,
    `import { x } from "@runtime/internal";`,
    `import { x } from "file:///etc/x.ts";`,
    `import { x } from "https://example.com/x.ts";`,
  ];
  for (const line of refused) assert.equal(lint("plugins/searches/mod.ts", line).length, 1, line);
  // A file under tests/ is not a plugin, whatever its folder is called.
  assert.deepEqual(lint("tests/fixtures/plugins/counter/mod.ts", refused[0]), []);
});

Deno.test("host-imports: the host imports no plugin, and its product code nothing of tests, testing or tools", () => {
  assert.deepEqual(lint("runtime/http/app.ts", `import { x } from "../core/event.ts";`), []);
  assert.deepEqual(lint("runtime/http/app_test.ts", `import { h } from "../../tests/support/harness.ts";`), []);
  assert.deepEqual(lint("runtime/http/app_test.ts", `import p from "../../plugins/stats/mod.ts";`), [
    "runtime/host-imports: the host imports no plugin; '../../plugins/stats/mod.ts' is one",
  ]);
  assert.deepEqual(lint("runtime/http/app.ts", `import { h } from "../../tests/support/harness.ts";`), [
    "runtime/host-imports: the host's product code imports nothing of tests/; '../../tests/support/harness.ts' does",
  ]);
  assert.equal(
    lint("runtime/core/event.ts", `const m = await import("../../examples/search_terms/mod.ts");`).length,
    1,
  );
  assert.equal(lint("runtime/core/event.ts", `export { k } from "../../tools/bench/load.ts";`).length, 1);
});

Deno.test("error-message: product code's errors say something in words, with no full stop; tests' are props", () => {
  const good = [
    `throw new Error("Cannot start: PORT must be 1..65535, got 'abc'");`,
    "throw new HttpError(400, `limit must be an integer 1..100, got '${raw}'`);",
    "throw new Error(`plugin ${name}: ${message}`);",
    `throw new TypeError(message);`, // not a literal: nothing to judge
  ];
  assert.deepEqual(lint("runtime/core/config.ts", good.join("\n")), []);
  const bad = {
    [`throw new Error("");`]: "fewer than two words",
    [`throw new Error("failed");`]: "fewer than two words",
    ["throw new Error(`${e}`);"]: "fewer than two words",
    [`throw new HttpError(400, "bad request");`]: null,
    [`throw new HttpError(400, "The body is not JSON.");`]: "no full stop",
    ["throw new ConfigError(`PORT must be a number, got ${raw}.`);"]: "no full stop",
  };
  for (const [line, problem] of Object.entries(bad)) {
    const found = lint("plugins/stats/mod.ts", line);
    if (problem === null) assert.deepEqual(found, [], line);
    else assert.ok(found.length === 1 && found[0].includes(problem), `${line}: ${found}`);
  }
  assert.deepEqual(lint("runtime/http/errors_test.ts", `throw new Error("boom");`), []);
  assert.deepEqual(lint("tests/crash_test.ts", `throw new Error("boom");`), []);
});
