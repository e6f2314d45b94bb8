import assert from "node:assert/strict";
import { Hono } from "hono";
import { answerHttpError } from "../errors.ts";
import { bearerToken, credential, matchesSecret, requireSecret } from "./auth.ts";

Deno.test("matchesSecret() finds a token among several and refuses prefixes, extensions, case changes and empties", async () => {
  const secrets = ["alpha-key-1", "beta-key-2"];
  assert.equal(await matchesSecret("beta-key-2", secrets), true);
  assert.equal(await matchesSecret("alpha-key-1", secrets), true);
  for (const wrong of ["alpha-key-", "alpha-key-11", "ALPHA-KEY-1", "", "beta-key-2 "]) {
    assert.equal(await matchesSecret(wrong, secrets), false, wrong);
  }
  assert.equal(await matchesSecret("alpha-key-1", []), false);
});

Deno.test("bearerToken() reads 'Authorization: Bearer <token>' only", () => {
  const with_ = (auth: string) => new Request("http://x/", { headers: { authorization: auth } });
  assert.equal(bearerToken(with_("Bearer abc")), "abc");
  assert.equal(bearerToken(with_("bearer  abc ")), "abc");
  assert.equal(bearerToken(with_("Basic abc")), null);
  assert.equal(bearerToken(new Request("http://x/")), null);
});

Deno.test("credential() reads a bearer token, the stream's access_token, and a write key as basic auth on /v1 only", () => {
  const basic = (user: string) => `Basic ${btoa(`${user}:`)}`;
  const req = (url: string, authorization?: string) =>
    new Request(`http://x${url}`, { headers: authorization ? { authorization } : {} });
  assert.equal(credential(req("/api/x", "Bearer t1")), "t1");
  assert.equal(credential(req("/api/stream?access_token=t2")), "t2");
  assert.equal(credential(req("/api/other?access_token=t2")), null); // only the stream takes it in the URL
  assert.equal(credential(req("/v1/batch", basic("wk"))), "wk");
  assert.equal(credential(req("/api/x", basic("wk"))), null); // basic auth is Segment's, on /v1 only
  assert.equal(credential(req("/v1/batch", basic(""))), null);
  assert.equal(credential(req("/v1/batch", "Basic %%%")), null);
});

Deno.test("requireSecret() answers 401 without or with an unknown token, 403 with the other kind, and passes a good one", async () => {
  const app = new Hono()
    .use("/api/*", requireSecret({ secrets: ["read-1"], others: ["write-1"], what: "/api", kind: "an API token" }))
    .use("/open/*", requireSecret({ secrets: [], others: ["write-1"], what: "/open", kind: "nothing" }))
    .get("/*", (c) => c.text("through"))
    .onError(answerHttpError);
  const answer = async (path: string, token?: string) => {
    const res = await app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return [res.status, await res.text()];
  };
  assert.deepEqual(await answer("/api/x"), [401, `{"error":"/api requires 'Authorization: Bearer <token>'"}`]);
  assert.deepEqual(await answer("/api/x", "nope"), [401, '{"error":"/api: unknown token"}']);
  assert.deepEqual(await answer("/api/x", "write-1"), [403, '{"error":"/api needs an API token, not the other kind"}']);
  assert.deepEqual(await answer("/api/x", "read-1"), [200, "through"]);
  assert.deepEqual(await answer("/open/x"), [200, "through"]);
});
