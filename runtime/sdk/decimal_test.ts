import assert from "node:assert/strict";
import { openPglite } from "../store/mod.ts";
import { rng } from "../sources/simulator/mod.ts";
import { decimalSum } from "./decimal.ts";

Deno.test("decimalSum() adds the numbers' decimal texts exactly", () => {
  assert.equal(decimalSum([]), "0");
  assert.equal(decimalSum([0.1, 0.2]), "0.3"); // 0.30000000000000004 in floats
  assert.equal(decimalSum([19.99, 5, 0.01]), "25.00");
  assert.equal(decimalSum([1e21, 1e-7]), "1000000000000000000000.0000001");
  assert.equal(decimalSum([-0.5, 0.25]), "-0.25");
  // Decimal texts as PostgreSQL writes a numeric, beside numbers: digits past a double's kept.
  assert.equal(decimalSum(["123456789012345678.125", 0.01]), "123456789012345678.135");
  assert.equal(decimalSum(["-0.001", "0.0010", 2]), "2.0000");
});

Deno.test("decimalSum() equals Postgres's numeric sum of the same numbers", async () => {
  const random = rng(5);
  const draws = [
    () => Math.round(random() * 100_000) / 100,
    () => random() * 1000,
    () => random() * 1e-6,
    () => random() * 1e25,
  ];
  const sets = Array.from({ length: 40 }, (_, i) => Array.from({ length: i }, (_, k) => draws[k % draws.length]()));
  const store = await openPglite("memory://");
  try {
    for (const xs of sets) {
      const [{ equal }] = await store.query<{ equal: boolean }>(
        "select (select coalesce(sum(x), 0) from unnest($1::numeric[]) x) = $2::numeric as equal",
        [xs, decimalSum(xs)],
      );
      assert.ok(equal, `${xs.join(" + ")} = ${decimalSum(xs)}`);
    }
  } finally {
    await store.close();
  }
});
