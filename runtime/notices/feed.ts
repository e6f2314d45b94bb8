/**
 * The committed notices as they come, for `/api/stream`: one poller per process reads `host.notices` past the last id
 * it saw (so it also sees what other processes on the same database commit) while anyone listens, and hands each notice
 * to every subscription. The outbox commits ids in increasing order (see `outbox.ts`), so reading past the last id
 * misses none.
 */
import type { Logger } from "../observability/logger.ts";
import type { Store } from "../store/mod.ts";
import type { StoredNotice } from "./notice.ts";
import { Nap } from "../core/nap.ts";

/** How often the feed reads the table while it has subscribers (ms), unless woken sooner. */
const POLL_MS = 250;
/** The most notices read at once. */
const PAGE = 500;
/** The most notices a subscription holds unread: past it, its reader is too slow and it ends. */
const MAX_UNREAD = 10_000;

/** Reads committed notices for the subscriptions of this process. */
export class NoticeFeed {
  readonly #store: Pick<Store, "query">;
  readonly #logger: Logger;
  readonly #subscriptions = new Set<NoticeSubscription>();
  #cursor = 0;
  #loop: Promise<void> | null = null;
  readonly #nap = new Nap();
  #stopped = false;
  #failing = false;

  constructor(store: Pick<Store, "query">, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /**
   * A subscription to the notices committed from now on: those with an id above the highest committed when it
   * starts. Close it when done; the feed stops reading when no subscription is left.
   */
  async subscribe(): Promise<NoticeSubscription> {
    const subscription: NoticeSubscription = new NoticeSubscription(() => this.#subscriptions.delete(subscription));
    this.#subscriptions.add(subscription); // first: whatever the feed reads from now on is kept for it
    try {
      const [{ head }] = await this.#store.query<{ head: number }>(
        "select coalesce(max(id), 0)::int8 as head from host.notices",
      );
      subscription.startAfter(head);
      if (this.#loop === null && !this.#stopped) {
        this.#cursor = head;
        this.#loop = this.#run();
      }
    } catch (e) {
      subscription.close();
      throw e;
    }
    return subscription;
  }

  /** Reads now: a notice was committed in this process. */
  wake(): void {
    this.#nap.wake();
  }

  /** Stops reading; subscriptions get nothing more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#nap.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped && this.#subscriptions.size > 0) {
      const full = await this.#poll();
      if (this.#stopped || this.#subscriptions.size === 0) break;
      if (!full) await this.#sleep();
    }
    this.#loop = null; // in the same turn as the check above: a new subscription starts a new loop
  }

  /** Reads one page past the cursor and hands it out; answers whether the page was full (more may wait). */
  async #poll(): Promise<boolean> {
    let rows: (Omit<StoredNotice, "created_at"> & { created_at: Date | string })[];
    try {
      rows = await this.#store.query(
        `select id, plugin, channel, payload, created_at from host.notices where id > $1 order by id limit ${PAGE}`,
        [this.#cursor],
      );
      if (this.#failing) this.#logger.info("notice feed reading again");
      this.#failing = false;
    } catch (e) {
      if (!this.#failing) this.#logger.warn("notice feed cannot read notices", { error: (e as Error).message });
      this.#failing = true;
      return false;
    }
    for (const row of rows) {
      const notice = { ...row, created_at: new Date(row.created_at).toISOString() };
      for (const s of this.#subscriptions) s.push(notice);
      this.#cursor = row.id;
    }
    return rows.length === PAGE;
  }

  #sleep(): Promise<void> {
    return this.#nap.for(POLL_MS);
  }
}

/** The notices committed since a subscription started, waiting to be taken. */
export class NoticeSubscription {
  #after: number | null = null;
  #unread: StoredNotice[] = [];
  #waiter: (() => void) | null = null;
  #overflowed = false;
  readonly #remove: () => void;

  /** A subscription that `remove` takes off its feed when it closes. */
  constructor(remove: () => void) {
    this.#remove = remove;
  }

  /** Whether its reader fell more than 10,000 notices behind: it got nothing more, and should end. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Keeps only the notices with an id above `head` (the highest committed when it started). */
  startAfter(head: number): void {
    this.#after = head;
    this.#unread = this.#unread.filter((n) => n.id > head);
  }

  /** Hands it a notice read by the feed. */
  push(notice: StoredNotice): void {
    if (this.#overflowed || (this.#after !== null && notice.id <= this.#after)) return;
    if (this.#unread.length >= MAX_UNREAD) {
      this.#overflowed = true;
      this.#unread = [];
    } else this.#unread.push(notice);
    this.#waiter?.();
  }

  /** The notices not taken yet, in id order. */
  take(): StoredNotice[] {
    const taken = this.#unread;
    this.#unread = [];
    return taken;
  }

  /** Waits `ms`, or less when a notice comes. */
  wait(ms: number): Promise<void> {
    if (this.#unread.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.#waiter = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => this.#waiter = null);
  }

  /** Stops it: the feed hands it nothing more. */
  close(): void {
    this.#remove();
    this.#waiter?.();
  }
}
