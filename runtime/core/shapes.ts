/**
 * The flat event shape of the pipelines this runtime replaces (Kafka → Spark → Postgres), understood with no
 * configuration: `{ "event_id", "event_type", "user_id", "event_timestamp": "2026-03-01 10:00:00", "product_id",
 * "product_price", "quantity", "device_type", "country": "Nigeria", "total", ... }`. Such an item (one with an
 * `event_type` and no `type`) becomes a canonical event candidate, which is then validated like any other; an item of
 * our own shape is left exactly as it is. The table in docs/api.md ("Flat events") lists every mapping.
 * @module
 */
import { isObject, snakeCase } from "./segment.ts";

type Obj = Record<string, unknown>;

/** The first of `keys` that `item` holds (not null), and its value. */
function pick(item: Obj, keys: readonly string[]): [string, unknown] | undefined {
  for (const k of keys) if (item[k] !== undefined && item[k] !== null) return [k, item[k]];
  return undefined;
}

/** Where a flat event keeps its type, id, user, session and time, in the order they are looked for. */
const TYPE_KEYS = ["event_type", "eventType", "event_name", "eventName"] as const;
const ID_KEYS = ["event_id", "eventId", "message_id", "messageId", "id"] as const;
const USER_KEYS = ["user_id", "userId", "customer_id", "customerId"] as const;
const SESSION_KEYS = ["session_id", "sessionId"] as const;
const TIME_KEYS = ["event_timestamp", "timestamp", "event_time", "eventTime", "ts", "time", "created_at"] as const;

/** Flat field names → our property names. */
export const PROPERTY_ALIASES: Record<string, string> = {
  product_price: "price",
  unit_price: "price",
  product_category: "category",
  category_name: "category",
  product_quantity: "quantity",
  qty: "quantity",
  device_type: "device",
  device_category: "device",
  page_url: "page",
  url: "page",
  search_query: "query",
  search_term: "query",
  total: "amount",
  total_amount: "amount",
  order_total: "amount",
  order_value: "amount",
  revenue: "amount",
  currency_code: "currency",
  country_code: "country",
  country_name: "country",
  products: "items",
  line_items: "items",
};

/** Flat event types (snake_cased) → our known types; any other is kept, snake_cased. */
export const TYPE_ALIASES: Record<string, string> = {
  pageview: "page_view",
  page: "page_view",
  view: "page_view",
  page_visit: "page_view",
  view_product: "product_view",
  product_viewed: "product_view",
  product_detail: "product_view",
  view_item: "product_view",
  cart_add: "add_to_cart",
  added_to_cart: "add_to_cart",
  product_added: "add_to_cart",
  add_item: "add_to_cart",
  cart_remove: "remove_from_cart",
  removed_from_cart: "remove_from_cart",
  product_removed: "remove_from_cart",
  begin_checkout: "checkout",
  checkout_started: "checkout",
  start_checkout: "checkout",
  order: "purchase",
  order_completed: "purchase",
  order_placed: "purchase",
  transaction: "purchase",
  buy: "purchase",
  products_searched: "search",
  sign_in: "login",
  signed_in: "login",
  log_in: "login",
  sign_out: "logout",
  signed_out: "logout",
  log_out: "logout",
  sign_up: "signup",
  signed_up: "signup",
  register: "signup",
  video_start: "video_play",
  video_started: "video_play",
  video_completed: "video_complete",
  video_finished: "video_complete",
};

/** Whether `item` is a flat event: an object with an event type field and no `type`. */
export function isFlatEvent(item: unknown): item is Obj {
  return isObject(item) && item.type === undefined && pick(item, TYPE_KEYS) !== undefined;
}

/**
 * `item` as a canonical event candidate when it is a flat event ({@linkcode isFlatEvent}); any other item as it
 * is. Nothing is checked here but what the mapping needs: the candidate is validated as every event is.
 */
export function fromFlatShape(item: unknown): unknown {
  if (!isFlatEvent(item)) return item;
  const consumed = new Set<string>(["properties"]);
  const take = (keys: readonly string[]) => {
    const found = pick(item, keys);
    for (const k of keys) if (item[k] === null) consumed.add(k);
    if (found) consumed.add(found[0]);
    return found?.[1];
  };
  const rawType = take(TYPE_KEYS);
  const name = typeof rawType === "string" ? snakeCase(rawType) : rawType;
  const type = typeof name === "string" ? TYPE_ALIASES[name] ?? name : name;
  const candidate: Obj = {
    event_id: stringOf(take(ID_KEYS)),
    type,
    user_id: stringOf(take(USER_KEYS)),
    timestamp: timeOf(take(TIME_KEYS)),
  };
  const session = take(SESSION_KEYS);
  if (session !== undefined) candidate.session_id = stringOf(session);
  const properties: Obj = isObject(item.properties) ? { ...item.properties } : {};
  for (const [key, value] of Object.entries(item)) {
    if (consumed.has(key) || value === null) continue;
    properties[PROPERTY_ALIASES[key] ?? key] ??= value;
  }
  candidate.properties = normalizedProperties(properties, type);
  for (const [k, v] of Object.entries(candidate)) if (v === undefined) delete candidate[k];
  return candidate;
}

/** Ids and users as text: the pipelines' integer ids (`"user_id": 42`) are the same ids. */
function stringOf(v: unknown): unknown {
  return typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v;
}

/**
 * A flat event's time as ISO-8601 with an offset: a time without a zone is UTC (`2026-03-01 10:00:00` →
 * `2026-03-01T10:00:00Z`), a date alone its midnight UTC, epoch seconds or milliseconds their instant. Anything else
 * is left for validation to refuse.
 */
export function timeOf(v: unknown): unknown {
  if (typeof v === "number" && Number.isFinite(v)) {
    const ms = Math.abs(v) < 1e11 ? v * 1000 : v; // 1e11 s is the year 5138; 1e11 ms is 1973
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? v : d.toISOString();
  }
  if (typeof v !== "string") return v;
  const s = v.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `${s}T00:00:00Z`;
  const naive = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/.exec(s);
  if (naive) return `${naive[1]}T${naive[2].length === 5 ? `${naive[2]}:00` : naive[2]}Z`;
  return s.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, "$1T$2"); // a space for the T, the zone as written
}

/** A flat event's properties made canonical: a country's name as its code, a null quantity as 1, a total. */
function normalizedProperties(p: Obj, type: unknown): Obj {
  for (const [k, v] of Object.entries(p)) if (v === null) delete p[k];
  if (typeof p.country === "string") p.country = countryCode(p.country) ?? p.country;
  if (typeof p.currency === "string") p.currency = p.currency.trim().toUpperCase();
  if (typeof p.product_id === "number") p.product_id = String(p.product_id);
  if (p.price !== undefined && p.quantity === undefined && (type === "add_to_cart" || type === "purchase")) {
    p.quantity = 1;
  }
  if (Array.isArray(p.items)) {
    p.items = p.items.map((it) => {
      if (!isObject(it)) return it;
      const item: Obj = {};
      for (const [k, v] of Object.entries(it)) if (v !== null) item[PROPERTY_ALIASES[k] ?? k] ??= v;
      if (typeof item.product_id === "number") item.product_id = String(item.product_id);
      item.quantity ??= 1; // the pipelines count a null quantity as one
      return item;
    });
  }
  // A purchase of one product at a price, with no total: price × quantity, as the pipelines compute revenue.
  if (type === "purchase" && p.amount === undefined && p.items === undefined && typeof p.price === "number") {
    const quantity = typeof p.quantity === "number" ? p.quantity : 1;
    p.amount = Math.round(p.price * quantity * 100) / 100;
  }
  return p;
}

/** Names (and a few common other names) of countries, normalized, → ISO 3166 alpha-2. */
let byName: Map<string, string> | undefined;

/** The normalized form names are compared in: lower case, no accents, no leading "the", single spaces. */
function normalizedName(name: string): string {
  return name.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/[’'.,()]/g, "").replace(/&/g, "and")
    .replace(/\s+/g, " ").trim().replace(/^the /, "");
}

/** Other names people write for some countries. */
const OTHER_NAMES: Record<string, string> = {
  "usa": "US",
  "united states of america": "US",
  "america": "US",
  "uk": "GB",
  "great britain": "GB",
  "britain": "GB",
  "england": "GB",
  "scotland": "GB",
  "wales": "GB",
  "russian federation": "RU",
  "czech republic": "CZ",
  "turkey": "TR",
  "ivory coast": "CI",
  "korea": "KR",
  "republic of korea": "KR",
  "democratic republic of the congo": "CD",
  "dr congo": "CD",
  "republic of the congo": "CG",
  "viet nam": "VN",
  "holland": "NL",
  "uae": "AE",
  "burma": "MM",
  "swaziland": "SZ",
  "macedonia": "MK",
  "cape verde": "CV",
};

/** The ISO 3166 alpha-2 code of a country written as its code (any case) or its English name; null if unknown. */
export function countryCode(written: string): string | null {
  const s = written.trim();
  if (byName === undefined) {
    byName = new Map();
    const names = new Intl.DisplayNames(["en"], { type: "region" });
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        // Private use (AA, QM–QZ, X*, ZZ) and groupings (EU, EZ, UN) are no country; an old or reserved code (DD,
        // UK) is named as the country it now stands for, and that country's own code is the one kept.
        if (/^(AA|Q[M-Z]|X.|ZZ|EU|EZ|UN)$/.test(code)) continue;
        const current = Intl.getCanonicalLocales(`und-${code}`)[0].slice(4);
        const name = names.of(current);
        if (name && name !== current) byName.set(normalizedName(name), current);
      }
    }
    for (const [name, code] of Object.entries(OTHER_NAMES)) byName.set(name, code);
  }
  // A name first: "UK" is what people write for GB, not the code ISO reserves.
  return byName.get(normalizedName(s)) ?? (/^[A-Za-z]{2}$/.test(s) ? s.toUpperCase() : null);
}
