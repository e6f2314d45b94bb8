import assert from "node:assert/strict";
import { spawnRuntime, tempDir, waitFor } from "./support/harness.ts";

Deno.test({
  name: "the start command, with its defaults, serves the page and the simulator's traffic within seconds",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await tempDir("rt-start-");
    // Only DATA_DIR and the port differ from a new user's `deno task start`; SIMULATE is left to its default.
    const rt = spawnRuntime({ DATA_DIR: `${dataDir}/data`, SIMULATE: "" });
    try {
      await rt.ready(30_000);
      const page = await fetch(`${rt.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<h1>Analytics runtime<\/h1>/);
      const overview = await waitFor("simulated events to reach stats", async () => {
        const body = await (await fetch(`${rt.url}/api/stats/overview`)).json();
        return body.events >= 20 && body.users > 0 ? body : null;
      }, 20_000);
      assert.ok(overview.by_type.page_view > 0 || overview.by_type.login > 0);
      const { plugins } = await (await fetch(`${rt.url}/api/plugins`)).json();
      assert.deepEqual(plugins.map((p: { name: string; status: string }) => [p.name, p.status]), [
        ["alerts", "running"],
        ["churn", "running"],
        ["fraud", "running"],
        ["funnel", "running"],
        ["stats", "running"],
      ]);
      await waitFor("simulated sessions to reach the funnel", async () => {
        const body = await (await fetch(`${rt.url}/api/funnel/summary`)).json();
        return body.sessions > 0 && body.steps[0].sessions > 0;
      }, 20_000);
      await Deno.stat(`${dataDir}/data`); // the embedded database lives under DATA_DIR
    } finally {
      rt.child.kill("SIGTERM");
      assert.equal((await rt.child.status).code, 0); // graceful shutdown
    }
  },
});

Deno.test({
  name: "deno task simulate posts the requested traffic to a running runtime",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await tempDir("rt-sim-");
    const rt = spawnRuntime({ DATA_DIR: dataDir, SIMULATE: "0" });
    try {
      await rt.ready(30_000);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "simulate", "--url", rt.url, "--rate", "2000", "--count", "700", "--seed", "3"],
        cwd: new URL("../", import.meta.url),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(new TextDecoder().decode(out.stderr), /sent 700 events/);
      const overview = await waitFor("700 events in stats", async () => {
        const body = await (await fetch(`${rt.url}/api/stats/overview`)).json();
        return body.events === 700 ? body : null;
      });
      assert.ok(overview.users > 10);

      // A history: its events posted, its ground truth written beside them, not inside.
      const labelsFile = `${dataDir}/labels.json`;
      const history = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "simulate", "--url", rt.url, "--rate", "20000", "--seed", "4", "--history", "20"]
          .concat(["--users", "60", "--labels", labelsFile]),
        cwd: new URL("../", import.meta.url),
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(history.stderr);
      assert.equal(history.code, 0, said);
      const [, n] = said.match(/simulate: (\d+) events over 20 days/)!;
      assert.match(said, new RegExp(`sent ${n} events`));
      const labels = JSON.parse(await Deno.readTextFile(labelsFile));
      assert.deepEqual(Object.keys(labels), ["churned", "fraudEvents", "fraudUsers"]);
      await waitFor("the history in stats", async () => {
        const body = await (await fetch(`${rt.url}/api/stats/overview`)).json();
        return body.events === 700 + Number(n);
      });
    } finally {
      rt.child.kill("SIGTERM");
      await rt.child.status;
    }
  },
});
