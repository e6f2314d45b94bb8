/**
 * Tests' Kafka: librdkafka's mock cluster (real brokers speaking the Kafka protocol on local ports),
 * driven by the small C program in testdata/, compiled with gcc on first use.
 */
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(new URL("./testdata/mock_cluster.c", import.meta.url));

/** A running mock cluster. */
export interface MockCluster {
  bootstrap: string;
  /** Sends one command (`topic <name> <partitions>`, `down <id>`, `up <id>`) and waits for "ok". */
  command(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the mock cluster can be built here (gcc and librdkafka-dev). */
export async function mockClusterAvailable(): Promise<boolean> {
  try {
    await Deno.stat("/usr/include/librdkafka/rdkafka_mock.h");
    const gcc = await new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return gcc.success;
  } catch {
    return false;
  }
}

async function binary(): Promise<string> {
  const source = await Deno.readFile(SOURCE);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
  const hash = [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/mock-kafka-cluster-${hash}`;
  try {
    await Deno.stat(path);
    return path;
  } catch {
    // Built aside under this process's own name, then renamed into place: test files run side by side may build it at
    // once, and each rename puts a whole binary there.
    const tmp = `${path}.${Deno.pid}.tmp`;
    const out = await new Deno.Command("gcc", { args: ["-O1", "-o", tmp, SOURCE, "-lrdkafka"] }).output();
    if (!out.success) {
      await Deno.remove(tmp).catch(() => {}); // gcc may leave a partial output, or none
      throw new Error(`cannot build the mock cluster: ${new TextDecoder().decode(out.stderr)}`);
    }
    await Deno.rename(tmp, path);
    return path;
  }
}

/** Starts a mock cluster of `brokers` brokers with `topics` created. */
export async function startMockCluster(brokers: number, topics: Record<string, number>): Promise<MockCluster> {
  const child = new Deno.Command(await binary(), {
    args: [String(brokers)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const readLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("mock cluster exited");
      buffered += value;
    }
    const nl = buffered.indexOf("\n");
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    return line;
  };
  const bootstrap = await readLine();
  const command = async (line: string) => {
    await writer.write(new TextEncoder().encode(line + "\n"));
    const answer = await readLine();
    if (answer !== "ok") throw new Error(`mock cluster: '${line}' answered '${answer}'`);
  };
  for (const [name, partitions] of Object.entries(topics)) await command(`topic ${name} ${partitions}`);
  return {
    bootstrap,
    command,
    async stop() {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}
