/**
 * A throw-away PostgreSQL cluster for fault-injection tests: its own data directory and port, so a test can stop
 * and restart the server without touching the shared test server. Built with the local `initdb` and `pg_ctl`,
 * run as the `postgres` user when the test runs as root (PostgreSQL refuses root), as `.ci/run` does.
 */

/** A cluster the test owns. */
export interface PgCluster {
  /** A superuser URL of its `postgres` database. */
  url: string;
  start(): Promise<void>;
  /** Stops it at once, as a crash would (`pg_ctl -m immediate`): no checkpoint, open connections cut. */
  crash(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

/** The newest local PostgreSQL's bin folder, or null when there is none. */
export function pgBin(): string | null {
  let best: string | null = null;
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).filter((n) => /^\d+$/.test(n));
    for (const v of versions.sort((a, b) => Number(a) - Number(b))) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      if (Deno.statSync(`${bin}/pg_ctl`).isFile) best = bin;
    }
  } catch {
    // not installed
  }
  return best;
}

async function run(argv: string[]): Promise<void> {
  const { code, stderr, stdout } = await new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).output();
  if (code !== 0) {
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    throw new Error(`${argv.join(" ")} exited with ${code}: ${out}`);
  }
}

/** Creates a cluster in a temporary folder on a free port (not started). */
export async function createPgCluster(): Promise<PgCluster> {
  const bin = pgBin();
  if (!bin) throw new Error("no PostgreSQL under /usr/lib/postgresql: install the postgresql package");
  const dir = await Deno.makeTempDir({ prefix: "rt-pg-" });
  const asPg: string[] = [];
  if (Deno.uid() === 0) {
    const id = await new Deno.Command("id", { args: ["-u", "postgres"] }).output();
    if (id.code !== 0) throw new Error("running as root, but there is no 'postgres' user to run PostgreSQL as");
    await Deno.chown(dir, Number(new TextDecoder().decode(id.stdout)), null);
    asPg.push("runuser", "-u", "postgres", "--");
  }
  await run([...asPg, `${bin}/initdb`, "-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const pgCtl = (...args: string[]) => run([...asPg, `${bin}/pg_ctl`, "-D", `${dir}/data`, ...args]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  let running = false;
  const crash = async () => {
    await pgCtl("-m", "immediate", "-w", "stop");
    running = false;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pgCtl("-l", `${dir}/log`, "-w", "-o", options, "start");
      running = true;
    },
    crash,
    async destroy() {
      if (running) await crash().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}
