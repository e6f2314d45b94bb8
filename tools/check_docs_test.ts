import assert from "node:assert/strict";
import { isPackageType, parseFindings, problems } from "./check_docs.ts";

const OUTPUT = `error[private-type-ref]: public type 'parseBody' references private type 'ZodType'
  --> /repo/runtime/http/body.ts:49:1
   |
49 | export async function parseBody<T>(request: Request, schema: ZodType<T>): Promise<T> {
   |

error[missing-jsdoc]: exported symbol is missing JSDoc documentation
  --> /repo/runtime/sdk/mod.ts:47:3

error: Found 2 documentation lint errors.
`;

Deno.test("parseFindings() reads each finding's rule, message, file and line", () => {
  assert.deepEqual(parseFindings(`\x1b[31m${OUTPUT}\x1b[0m`), [
    {
      rule: "private-type-ref",
      message: "public type 'parseBody' references private type 'ZodType'",
      file: "/repo/runtime/http/body.ts",
      line: 49,
    },
    {
      rule: "missing-jsdoc",
      message: "exported symbol is missing JSDoc documentation",
      file: "/repo/runtime/sdk/mod.ts",
      line: 47,
    },
  ]);
});

Deno.test("isPackageType() knows a package's types by import and by namespace, not the repository's own", () => {
  const source = `import { z, type ZodObject } from "zod";\nimport type { Context as C } from "hono";\n` +
    `import type { Row } from "../store/store.ts";\nimport type { Env } from "@runtime/sdk";\ntype Q = z.output<X>;`;
  assert.equal(isPackageType(source, "ZodObject"), true);
  assert.equal(isPackageType(source, "C"), true);
  assert.equal(isPackageType(source, "output"), true); // z.output
  assert.equal(isPackageType(source, "Row"), false);
  assert.equal(isPackageType(source, "Env"), false);
  assert.equal(isPackageType(source, "input"), false); // z.input is not used
});

Deno.test("problems() keeps every finding but a package's type named in a signature", async () => {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, `import type { ZodType } from "zod";\nimport type { Row } from "./store.ts";\n`);
    const finding = (rule: string, message: string) => ({ rule, message, file, line: 1 });
    const kept = await problems([
      finding("private-type-ref", "public type 'f' references private type 'ZodType'"),
      finding("private-type-ref", "public type 'g' references private type 'Row'"),
      finding("missing-jsdoc", "exported symbol is missing JSDoc documentation"),
    ]);
    assert.deepEqual(kept.map((f) => f.message), [
      "public type 'g' references private type 'Row'",
      "exported symbol is missing JSDoc documentation",
    ]);
  } finally {
    await Deno.remove(file);
  }
});
