import assert from "node:assert/strict";
import { REPO } from "./testing.ts";

const available = await new Deno.Command("docker-compose", { args: ["version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "docker-compose.yml is valid and wires the runtime to Kafka and Postgres",
  // No Docker engine runs here: `config -q` validates the file; CI installs docker-compose for it.
  ignore: !available && Deno.env.get("CI") !== "true",
  async fn() {
    const out = await new Deno.Command("docker-compose", { args: ["config", "-q"], cwd: REPO, stderr: "piped" })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const compose = await Deno.readTextFile(new URL("docker-compose.yml", REPO));
    for (
      const wiring of [
        "KAFKA_BROKERS: kafka:9092",
        "DATABASE_URL: postgres://",
        "KAFKA_PROCESS_ROLES: broker,controller",
      ]
    ) {
      assert.ok(compose.includes(wiring), wiring);
    }
  },
});
