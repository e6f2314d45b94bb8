import assert from "node:assert/strict";
import { checkStatement, splitStatements, SqlGuardError } from "./sql_guard.ts";

Deno.test("splitStatements() splits on semicolons outside strings, identifiers, comments and dollar quotes", () => {
  const script = `create table a (x text default 'a;b');
    -- a comment; with a semicolon
    create function f() returns text language sql as $body$ select 'x;y' $body$;
    /* block; /* nested; */ still */ insert into "we;ird" values (E'it\\'s;');
    ;`;
  assert.deepEqual(splitStatements(script), [
    "create table a (x text default 'a;b')",
    "-- a comment; with a semicolon\n    create function f() returns text language sql as $body$ select 'x;y' $body$",
    "/* block; /* nested; */ still */ insert into \"we;ird\" values (E'it\\'s;')",
  ]);
});

Deno.test("splitStatements() reads identifiers, comments and dollar quotes as PostgreSQL does", () => {
  // `$` belongs to an identifier (no dollar quote opens after x), a `--` comment ends at a carriage return too.
  assert.deepEqual(splitStatements("create table x$$ (a int); alter role me superuser; select $$;$$"), [
    "create table x$$ (a int)",
    "alter role me superuser",
    "select $$;$$",
  ]);
  assert.deepEqual(splitStatements("select 1 -- note\rcommit; select 2"), ["select 1 -- note\rcommit", "select 2"]);
  assert.deepEqual(splitStatements("select $a$ $b$; $a$; select $1"), ["select $a$ $b$; $a$", "select $1"]);
});

Deno.test("checkStatement() allows queries and DDL on the plugin's own tables, views and indexes", () => {
  for (
    const sql of [
      "select 1",
      "(select 1) union (select 2)",
      "with x as (select 1) insert into t select * from x",
      "update t set n = n + 1",
      "create index on t (lower(x))",
      "create view v as select function_name from t",
      "alter table t add column reset_count int", // 'reset' inside an identifier is fine
    ]
  ) {
    checkStatement(sql);
    // The same statement with a role change added is refused: the guard read it, it did not wave it through.
    assert.throws(() => checkStatement(`${sql}; reset role`), SqlGuardError, sql);
  }
});

Deno.test("checkStatement() refuses role changes and transaction control, however written", () => {
  for (
    const sql of [
      "reset role",
      "RESET ALL",
      "set role postgres",
      "SET LOCAL ROLE postgres",
      'set "role" to postgres',
      "set session authorization postgres",
      "commit",
      "begin",
      "rollback",
      "savepoint a",
      "do $$ begin null; end $$",
      "copy t from stdin",
      "create function e() returns int language sql as 'reset role; select 1'",
      "create function e() returns int language sql as $$ set/**/role postgres; select 1 $$",
      "create function e() returns int language sql as 'reset -- x\n role'",
      "select pg_catalog.set_config('role', 'postgres', false)",
      "select set_config('session_authorization', 'postgres', false)",
      "alter role me set role = postgres",
      "create function g() returns int language sql as 'select 1'",
      "create or replace function esc() returns text language sql as E'set r\\x6fle postgres; select 1'",
      "CREATE PROCEDURE p() LANGUAGE sql AS U&'r\\0065set role'",
      "alter function g() owner to postgres",
      "reset -- a comment ended by a carriage return\r role",
      "select '--', set_config('role', 'postgres', false)",
      "select U&\"set\\005fconfig\"('role', 'postgres', false)",
      "",
    ]
  ) assert.throws(() => checkStatement(sql), SqlGuardError, sql);
});
