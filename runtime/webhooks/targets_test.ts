import assert from "node:assert/strict";
import { isNonPublic, refusedTarget } from "./targets.ts";

Deno.test("isNonPublic() knows loopback, private, link-local, shared, unique-local and mapped addresses", () => {
  for (const inner of ["127.0.0.1", "10.1.2.3", "172.16.0.9", "172.31.255.255", "192.168.1.1", "169.254.169.254"]) {
    assert.equal(isNonPublic(inner), true, inner);
  }
  for (const inner of ["100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1"]) {
    assert.equal(isNonPublic(inner), true, inner);
  }
  assert.equal(isNonPublic("64:ff9b::a9fe:a9fe"), true); // NAT64 of 169.254.169.254
  for (const outer of ["93.184.216.34", "172.32.0.1", "8.8.8.8", "2606:4700::6810:84e5", "::ffff:8.8.8.8"]) {
    assert.equal(isNonPublic(outer), false, outer);
  }
});

Deno.test("refusedTarget() refuses what is not public unless allowed by name, and resolves names first", async () => {
  const dns = (answers: Record<string, string[]>) => (name: string) => Promise.resolve(answers[name] ?? []);
  const none = dns({});
  assert.match((await refusedTarget(new URL("http://127.0.0.1:9/x"), [], none))!, /^127\.0\.0\.1 is not a public/);
  assert.match((await refusedTarget(new URL("http://[::1]:9/"), [], none))!, /^::1 is not a public address/);
  assert.match((await refusedTarget(new URL("http://localhost/"), [], none))!, /loopback/);
  assert.equal(await refusedTarget(new URL("http://127.0.0.1:9/x"), ["127.0.0.1"], none), null);
  // A public-looking name that points inside is refused by its address.
  const inside = dns({ "metadata.example": ["203.0.113.7", "169.254.169.254"] });
  assert.equal(
    await refusedTarget(new URL("https://metadata.example/latest"), [], inside),
    "metadata.example is at 169.254.169.254, not a public address (allow it in WEBHOOK_ALLOW_HOSTS)",
  );
  assert.equal(
    await refusedTarget(new URL("https://hooks.example/x"), [], dns({ "hooks.example": ["93.184.216.34"] })),
    null,
  );
  assert.equal(await refusedTarget(new URL("https://nowhere.example/"), [], none), "nowhere.example does not resolve");
});
