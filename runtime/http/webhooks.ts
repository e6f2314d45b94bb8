/**
 * The webhooks over HTTP, for operators (an `ADMIN_TOKENS` token once any token is set): `PUT /api/webhooks/:name`
 * subscribes a URL to one plugin's notices of one channel, `GET /api/webhooks` lists them, `DELETE` removes one (with
 * its delivery log), and `GET /api/webhooks/:name/deliveries` is its delivery log. A webhook's secret goes in and
 * never comes out, nor does the query of its URL (where receivers put their own tokens). Plugins take no part: they
 * only emit notices. A webhook makes the host send requests where its URL says, so reading tokens do not manage them,
 * and deliveries go to public addresses only (see `runtime/webhooks/targets.ts`).
 * @module
 */
import type { Hono } from "hono";
import { parseBody } from "./body.ts";
import type { RuntimeParts } from "./context.ts";
import { HttpError } from "./errors.ts";
import { describeRoute } from "./openapi.ts";
import { requireSecret } from "./middleware/auth.ts";
import {
  DeliveryList,
  DeliveryQuery,
  Webhook,
  WEBHOOK_NAME,
  WebhookBody,
  WebhookList,
  WebhookPath,
} from "./schemas.ts";

/** What a webhook is answered with: every column but its secret, the URL's query hidden. */
const COLUMNS = `name, regexp_replace(url, '[?#].*$', '?…') as url, plugin, channel, enabled, created_at, updated_at`;

/** The most webhooks: each notice of their plugin and channel becomes a delivery row per webhook, in its batch. */
export const MAX_WEBHOOKS = 100;

/** Adds the webhook routes to `app`; they need an admin token whenever tokens are set. */
export function mountWebhooks(
  app: Hono,
  ctx: Pick<RuntimeParts, "store" | "logger"> & { apiTokens: string[]; adminTokens: string[] },
): void {
  const tokens = ctx.apiTokens.length + ctx.adminTokens.length > 0;
  const admin = requireSecret({
    // With tokens set but no admin token, nobody manages webhooks: an empty list would mean open.
    secrets: tokens ? (ctx.adminTokens.length > 0 ? ctx.adminTokens : [crypto.randomUUID()]) : [],
    others: ctx.apiTokens,
    what: "/api/webhooks",
    kind: "an admin token (ADMIN_TOKENS)",
  });
  for (const path of ["/api/webhooks", "/api/webhooks/*"]) app.use(path, admin);

  const listing = describeRoute({ summary: "The webhooks, by name, without their secrets", response: WebhookList });
  app.get("/api/webhooks", listing, async (c) => {
    return c.json({ webhooks: await ctx.store.query(`select ${COLUMNS} from host.webhooks order by name`) });
  });

  const saving = describeRoute({
    summary: "Create or replace a webhook: one plugin's notices of one channel, POSTed signed to a URL",
    description: "Each delivery is signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature) " +
      "and retried with backoff until a 2xx answer; see docs/api.md, Webhooks.",
    params: WebhookPath,
    body: WebhookBody,
    response: Webhook,
    errors: [400, 409],
  });
  app.put("/api/webhooks/:name", saving, async (c) => {
    const name = webhookName(c.req.param("name"));
    const w = await parseBody(c.req.raw, WebhookBody);
    // One statement: at most MAX_WEBHOOKS; a webhook moved to another plugin or channel drops what it had not yet
    // delivered of the old one (it would go to the new receiver, under the new secret).
    const [saved] = await ctx.store.query(
      `with old as (select plugin, channel from host.webhooks where name = $1),
       dropped as (
         delete from host.webhook_deliveries where webhook = $1 and status in ('pending', 'retrying')
           and exists (select 1 from old where (old.plugin, old.channel) <> ($4, $5))
       )
       insert into host.webhooks (name, url, secret, plugin, channel, enabled)
       select $1, $2, $3, $4, $5, $6
       where exists (select 1 from old) or (select count(*) from host.webhooks) < ${MAX_WEBHOOKS}
       on conflict (name) do update set url = excluded.url, secret = excluded.secret, plugin = excluded.plugin,
         channel = excluded.channel, enabled = excluded.enabled, updated_at = now()
       returning ${COLUMNS}`,
      [name, w.url, w.secret, w.plugin, w.channel, w.enabled],
    );
    if (!saved) throw new HttpError(409, `at most ${MAX_WEBHOOKS} webhooks; delete one first`);
    // Neither the secret nor the URL (which may carry a token of the receiver's) goes to the logs.
    ctx.logger.info("webhook saved", { webhook: name, plugin: w.plugin, channel: w.channel, enabled: w.enabled });
    return c.json(saved);
  });

  const removing = describeRoute({
    summary: "Delete a webhook and its delivery log (its dead letters stay)",
    params: WebhookPath,
    status: 204,
    errors: [400, 404],
  });
  app.delete("/api/webhooks/:name", removing, async (c) => {
    const name = webhookName(c.req.param("name"));
    const gone = await ctx.store.query("delete from host.webhooks where name = $1 returning name", [name]);
    if (gone.length === 0) throw new HttpError(404, `no webhook named '${name}'`);
    ctx.logger.info("webhook deleted", { webhook: name });
    return c.body(null, 204);
  });

  const log = describeRoute({
    summary: "A webhook's delivery log, newest notice first",
    params: WebhookPath,
    query: DeliveryQuery,
    response: DeliveryList,
    errors: [400, 404],
  });
  app.get("/api/webhooks/:name/deliveries", log, async (c) => {
    const name = webhookName(c.req.param("name"));
    const { status, limit } = c.req.valid("query");
    const [known] = await ctx.store.query("select 1 from host.webhooks where name = $1", [name]);
    if (!known) throw new HttpError(404, `no webhook named '${name}'`);
    const deliveries = await ctx.store.query(
      `select notice_id, status, attempts, next_attempt_at, last_status, last_error, delivered_at, created_at
       from host.webhook_deliveries where webhook = $1 and ($2::text is null or status = $2)
       order by notice_id desc limit $3`,
      [name, status ?? null, limit],
    );
    return c.json({ deliveries });
  });
}

/** A webhook's name from the path; 400 unless it matches {@linkcode WEBHOOK_NAME}. */
function webhookName(name: string): string {
  if (!WEBHOOK_NAME.test(name)) {
    throw new HttpError(400, `name must match ${WEBHOOK_NAME.source}, got '${name.slice(0, 80)}'`);
  }
  return name;
}
