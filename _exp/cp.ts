import { openPostgres } from "../runtime/store/mod.ts";
const s = await openPostgres("postgres://postgres@127.0.0.1:5499/postgres", 2);
await s.exec("create table if not exists public.cx (a int)");
const within = <T>(p: Promise<T>) => Promise.race([p, new Promise((_, r) => setTimeout(() => r(new Error("TIMEOUT")), 3000))]);
for (const q of ["copy public.cx from stdin", "copy public.cx to stdout", "copy (select 1) to stdout"]) {
  console.log("trying", q);
  try {
    console.log(await within(s.transaction(async (tx) => { const r = await tx.query(q); return r; })));
  } catch (e) { console.log("ERR", (e as Error).message); }
  try { console.log(await within(s.query("select 1 as ok")), await within(s.transaction((tx) => tx.query("select 2 as ok")))); } catch (e) { console.log("after ERR", (e as Error).message); }
}
await within(s.close()).catch((e) => console.log("close", e.message));
console.log("closed");
Deno.exit(0);
