/**
 * The deliverer: a loop in the host that claims due deliveries (see `deliveries.ts`) and POSTs each notice, signed
 * (see `signing.ts`), to its webhook's URL. A 2xx answer delivers it; anything else (another status, redirects
 * included, which are not followed; no answer within the time limit; no connection) is retried with backoff and
 * jitter, up to the policy's attempts, after which the delivery is dead and dead-lettered.
 */
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Store } from "../store/mod.ts";
import { DEFAULT_WEBHOOK_POLICY, retryAfterMs, retryDelayMs, type WebhookPolicy } from "./backoff.ts";
import {
  type Claim,
  claimDue,
  type Outcome,
  recordDead,
  recordDelivered,
  recordRetry,
  releaseClaim,
} from "./deliveries.ts";
import { signedHeaders, signingKey, webhookBody } from "./signing.ts";
import { Nap } from "../core/nap.ts";
import { refusedTarget } from "./targets.ts";

/** Attempts in flight at once, per process. */
const CONCURRENCY = 16;
/** How often the loop looks for due deliveries when not woken (ms). */
const POLL_MS = 250;
/** Attempts in flight at once for one webhook, per process: a slow receiver does not hold up the others. */
const PER_WEBHOOK = 4;

/** What the deliverer needs. */
export interface DelivererOptions {
  store: Store;
  logger: Logger;
  metrics: MetricsRegistry;
  policy?: Partial<WebhookPolicy>;
}

/** Delivers committed notices to the webhooks subscribed to them; started and stopped with the runtime. */
export class WebhookDeliverer {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #metrics: MetricsRegistry;
  readonly #policy: WebhookPolicy;
  readonly #stopping = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  /** Attempts in flight per webhook. */
  readonly #busy = new Map<string, number>();
  #client: Deno.HttpClient | null = null;
  #loop: Promise<void> | null = null;
  readonly #nap = new Nap();
  #failing = false;

  constructor(opts: DelivererOptions) {
    this.#store = opts.store;
    this.#logger = opts.logger.with({ component: "webhooks" });
    this.#metrics = opts.metrics;
    this.#policy = { ...DEFAULT_WEBHOOK_POLICY, ...opts.policy };
  }

  /** Starts the loop. */
  start(): void {
    this.#client ??= Deno.createHttpClient({});
    this.#loop ??= this.#run();
  }

  /** Looks for due deliveries now: a notice was committed, or a dead one put back. */
  wake(): void {
    this.#nap.wake();
  }

  /** Stops the loop; attempts in flight are cut short and given back (due again at once, not counted). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#nap.wake();
    await this.#loop;
    await Promise.all(this.#inFlight);
    this.#client?.close();
    this.#client = null;
  }

  async #run(): Promise<void> {
    const leaseMs = this.#policy.timeoutMs + 30_000; // past the attempt's own limit, with room for recording it
    while (!this.#stopping.signal.aborted) {
      const free = CONCURRENCY - this.#inFlight.size;
      let claimed: Claim[] = [];
      if (free > 0) {
        try {
          claimed = await claimDue(this.#store, free, leaseMs, { perWebhook: PER_WEBHOOK, busy: this.#busy });
          if (this.#failing) this.#logger.info("webhook deliveries resumed");
          this.#failing = false;
        } catch (e) {
          if (!this.#failing) this.#logger.warn("cannot claim webhook deliveries", { error: (e as Error).message });
          this.#failing = true;
        }
      }
      for (const claim of claimed) {
        this.#busy.set(claim.webhook, (this.#busy.get(claim.webhook) ?? 0) + 1);
        const attempt: Promise<void> = this.#attempt(claim)
          .catch((e) => this.#logger.error("webhook delivery not recorded", { error: (e as Error).message }))
          .finally(() => {
            this.#inFlight.delete(attempt);
            const left = this.#busy.get(claim.webhook)! - 1;
            if (left > 0) this.#busy.set(claim.webhook, left);
            else this.#busy.delete(claim.webhook);
            this.wake(); // a free slot
          });
        this.#inFlight.add(attempt);
      }
      if (claimed.length === free && free > 0) continue; // more may be due
      await this.#idle();
    }
  }

  /** One attempt of one delivery, and its outcome recorded. */
  async #attempt(claim: Claim): Promise<void> {
    const started = performance.now();
    const sent = await this.#send(claim);
    if (sent === "stopped") return await releaseClaim(this.#store, claim);
    const { outcome, retryAfter } = sent;
    const labels = { webhook: claim.webhook };
    this.#metrics.observe(
      "webhook_attempt_seconds",
      "Webhook delivery attempts, answer included",
      labels,
      (performance.now() - started) / 1000,
    );
    const count = (result: string) =>
      this.#metrics.inc("webhook_attempts_total", "Webhook delivery attempts by result", { ...labels, result });
    if (outcome.error === null) {
      count("delivered");
      return await recordDelivered(this.#store, claim, outcome);
    }
    const { maxAttempts, retryBaseMs } = this.#policy;
    if (claim.attempts < maxAttempts) {
      count("retry");
      const delay = Math.max(retryDelayMs(claim.attempts, retryBaseMs), retryAfter ?? 0);
      this.#logger.debug("webhook delivery failed; will retry", { ...labels, attempts: claim.attempts, delay });
      return await recordRetry(this.#store, claim, outcome, delay);
    }
    count("dead");
    if (await recordDead(this.#store, claim, outcome)) {
      this.#metrics.inc("dead_letters_total", "Items sent to the dead letters", { stage: `webhook:${claim.webhook}` });
      this.#logger.warn("webhook delivery dead-lettered", {
        ...labels,
        notice: claim.notice.id,
        attempts: claim.attempts,
        error: outcome.error,
      });
    }
  }

  /** POSTs the notice, signed; answers the outcome, or "stopped" when the deliverer stopped during it. */
  async #send(claim: Claim): Promise<{ outcome: Outcome; retryAfter: number | null } | "stopped"> {
    const body = webhookBody(claim.notice);
    const { timeoutMs } = this.#policy;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(timeoutMs)]);
    const refused = await refusedTarget(new URL(claim.url), this.#policy.allowHosts);
    if (refused !== null) return { outcome: { status: null, error: `refused: ${refused}` }, retryAfter: null };
    let res: Response;
    try {
      const headers = await signedHeaders(await signingKey(claim.secret), String(claim.notice.id), body, new Date());
      res = await fetch(claim.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal,
        client: this.#client!,
      });
    } catch (e) {
      if (this.#stopping.signal.aborted) return "stopped";
      const error = signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : `cannot reach ${new URL(claim.url).host}: ${whyUnreachable(e as Error, claim.url)}`;
      return { outcome: { status: null, error }, retryAfter: null };
    }
    // The answer's body is not kept: the delivery log is read over the API, and must not carry what a receiver says.
    await res.body?.cancel();
    if (this.#stopping.signal.aborted) return "stopped";
    if (res.status >= 200 && res.status <= 299) {
      return { outcome: { status: res.status, error: null }, retryAfter: null };
    }
    const error = res.status >= 300 && res.status <= 399
      ? `HTTP ${res.status}: redirects are not followed; point the webhook at the URL that answers`
      : `HTTP ${res.status}`;
    return {
      outcome: { status: res.status, error },
      retryAfter: retryAfterMs(res.headers.get("retry-after"), new Date()),
    };
  }

  #idle(): Promise<void> {
    return this.#nap.for(POLL_MS);
  }
}

/**
 * Why a request got no answer, from `fetch`'s error ("fetch failed") and its cause (the connection's), without the
 * URL, whose query may hold the receiver's token.
 */
function whyUnreachable(e: Error, url: string): string {
  const cause = e.cause instanceof Error ? e.cause.message : null;
  return (cause ?? e.message).replaceAll(url, "<url>").replace(/^error sending request for url \(<url>\): /, "")
    .replace(/https?:\/\/\S*/g, "<url>");
}
