import { openPostgres } from "../runtime/store/mod.ts";
console.log("start");
const s = await openPostgres("postgres://postgres@127.0.0.1:5499/postgres", 2);
console.log("open");
await s.exec("create table if not exists public.cx (a int)");
console.log("created");
