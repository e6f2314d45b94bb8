/**
 * A process's resident memory and CPU time, read from Linux's /proc (null elsewhere, or once it has exited).
 * @module
 */

/** What a process uses. */
export interface ProcessUsage {
  rssBytes: number;
  /** User and system CPU time since it started. */
  cpuSeconds: number;
}

/** Clock ticks per second of /proc's CPU times: USER_HZ, 100 on every Linux architecture Deno runs on. */
const TICKS_PER_SECOND = 100;

/** Reads process `pid`'s resident memory and CPU time; null when /proc cannot tell. */
export async function processUsage(pid: number): Promise<ProcessUsage | null> {
  try {
    const [status, stat] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/status`),
      Deno.readTextFile(`/proc/${pid}/stat`),
    ]);
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    // Fields after the command name (which may hold spaces and parentheses): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!rss || !Number.isFinite(ticks)) return null;
    return { rssBytes: Number(rss[1]) * 1024, cpuSeconds: ticks / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}
