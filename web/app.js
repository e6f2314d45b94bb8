// The dashboard: one view at a time, chosen by the URL's hash, refreshed when /api/stream says the data changed.
import { barChart, formatNumber, lineChart } from "./charts.js";
import { h, savedToken, tokenForm } from "./dom.js";

const main = document.getElementById("view");
const connection = document.getElementById("connection");
const live = { snapshot: null, heads: [], rendering: false, dirty: false, lastRender: 0, selectedFunnel: "" };

/** An API answer that was not a 2xx, with the server's message. */
class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

let token = savedToken();

async function api(path) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body?.error ?? res.statusText, path);
  return body;
}

const section = (title, ...children) => h("section", { "aria-label": title }, h("h2", {}, title), ...children);
const pct = (x) => `${(x * 100).toFixed(1)}%`;

/** A row of number tiles; each value keeps the API's number in `data-value`. */
function tiles(items) {
  return h(
    "div",
    { class: "tiles" },
    items.map(([label, value, shown]) =>
      h(
        "div",
        { class: "tile", "data-key": label },
        h("div", { class: "label" }, label.replaceAll("_", " ")),
        h("div", { class: "value", "data-value": value }, shown ?? formatNumber(value)),
      )
    ),
  );
}

/** A table: `columns` are `[key, label, format?]`; numbers align right. */
function table(caption, columns, rows) {
  const cell = (row, [key, , format]) => {
    const v = row[key];
    const shown = format ? format(v, row) : typeof v === "number" ? formatNumber(v) : v ?? "—";
    return h("td", { class: typeof v === "number" ? "num" : undefined, "data-key": key }, shown);
  };
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map(([, label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => cell(r, c))))),
    ),
  );
}

/** Bytes as MiB with one decimal. */
function mib(bytes) {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** An empty or error state that says what to do. */
function note(kind, text, hint) {
  return h(
    "div",
    { class: `state ${kind}`, role: kind === "error" ? "alert" : undefined },
    h("p", {}, text),
    hint ? h("p", {}, hint) : null,
  );
}

/** The message for a failed request: a missing plugin says how to add it; a missing token asks for one. */
function failure(e) {
  if (e.status === 401 || e.status === 403) {
    return tokenForm(e.message, (given) => {
      token = given;
      connect();
      render();
    });
  }
  if (e.status === 404 && !/no plugin named/.test(e.message)) return note("empty", `Nothing here: ${e.message}.`);
  const plugin = /no plugin named '([a-z0-9_]+)'/.exec(e.message)?.[1];
  if (plugin) return note("empty", `The ${plugin} plugin is not loaded.`, `Drop its folder into plugins/ and restart.`);
  return note(
    "error",
    `Could not load ${e.path ?? "the data"}: ${e.message}`,
    "It refreshes by itself when the data changes.",
  );
}

const userLink = (id) => h("a", { href: `#/users/${encodeURIComponent(id)}` }, id);
const reasons = (list) => h("ul", { class: "reasons" }, (list ?? []).map((r) => h("li", {}, r)));
const time = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "—");

const views = {
  async live() {
    const o = await api("/api/stats/overview");
    if (o.events === 0) {
      return [note("empty", "No events yet.", "Send some with POST /v1/events, or run: deno task simulate --rate 200")];
    }
    const out = [section(
      "Live KPIs",
      tiles([
        ["events", o.events],
        ["users", o.users],
        ["sessions", o.sessions],
        ["purchases", o.purchases],
        ["revenue", o.revenue],
        ["conversion_rate", o.conversion_rate, pct(o.conversion_rate)],
        ["cart_abandonment_rate", o.cart_abandonment_rate, pct(o.cart_abandonment_rate)],
        ["aov", o.aov],
      ]),
    )];
    const wm = live.snapshot?.watermark;
    if (wm) {
      const to = Math.floor(Date.parse(wm) / 60_000) * 60_000 + 60_000;
      const q = `bucket=minute&from=${new Date(to - 60 * 60_000).toISOString()}&to=${new Date(to).toISOString()}`;
      const { buckets } = await api(`/api/stats/timeseries?${q}`);
      const totals = {};
      for (const b of buckets) for (const [t, n] of Object.entries(b.by_type)) totals[t] = (totals[t] ?? 0) + n;
      const types = Object.keys(totals).sort((a, b) => totals[b] - totals[a]).slice(0, 6);
      const points = buckets.map((b) => ({ t: Date.parse(b.start), values: { ...b.by_type, revenue: b.revenue } }));
      out.push(h(
        "div",
        { class: "grid" },
        section("Events per minute by type (last hour of event time)", lineChart("events per minute", points, types)),
        section("Revenue per minute", lineChart("revenue per minute", points, ["revenue"])),
      ));
    }
    return out;
  },

  async funnel() {
    const [summary, { definitions }] = await Promise.all([api("/api/funnel/summary"), api("/api/funnel/definitions")]);
    const out = [section(
      "Shopping funnel (per session)",
      tiles([
        ["sessions", summary.sessions],
        ["cart_abandonment_rate", summary.cart_abandonment_rate, pct(summary.cart_abandonment_rate)],
      ]),
      summary.sessions === 0 ? note("empty", "No sessions yet.") : barChart(
        "sessions per funnel step",
        summary.steps.map((s, k) => ({
          label: s.step,
          value: s.sessions,
          // Conversion from the first step, and the sessions lost since the one before.
          note: k === 0
            ? pct(s.conversion_from_start)
            : `${pct(s.conversion_from_start)} −${summary.steps[k - 1].sessions - s.sessions}`,
        })),
      ),
    )];
    if (definitions.length === 0) {
      out.push(section(
        "Custom funnels",
        note(
          "empty",
          "No custom funnels yet.",
          'Create one: POST /api/funnel/definitions {"name": "buy", "steps": ["product_view", "purchase"]}',
        ),
      ));
      return out;
    }
    const chosen = definitions.find((d) => d.name === live.selectedFunnel) ?? definitions[0];
    const select = h(
      "select",
      { id: "funnel-select", "aria-label": "Custom funnel" },
      definitions.map((d) => h("option", { value: d.name, selected: d.name === chosen.name ? "" : undefined }, d.name)),
    );
    select.addEventListener("change", () => {
      live.selectedFunnel = select.value;
      render();
    });
    const report = await api(`/api/funnel/definitions/${encodeURIComponent(chosen.name)}/report`);
    out.push(section(
      "Custom funnels",
      select,
      barChart(
        `users per step of ${chosen.name}`,
        report.steps.map((s) => ({
          label: `${s.step}. ${s.type}`,
          value: s.users,
          note: s.step === 1 ? "" : `−${s.drop_off}`,
        })),
      ),
    ));
    return out;
  },

  async users(id) {
    const form = h(
      "form",
      { role: "search" },
      h("label", { for: "user-id" }, "User id"),
      h("input", { id: "user-id", name: "user", value: id ?? "", required: "" }),
      h("button", { type: "submit" }, "Look up"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      location.hash = `#/users/${encodeURIComponent(form.user.value.trim())}`;
    });
    if (!id) {
      return [form, note("empty", "Enter a user id to see their stats, sessions, churn score and fraud alerts.")];
    }
    const u = encodeURIComponent(id);
    const [stats, sessions, churn, alerts] = await Promise.allSettled([
      api(`/api/stats/users/${u}`),
      api(`/api/funnel/users/${u}/sessions?limit=10`),
      api(`/api/churn/users/${u}`),
      api(`/api/fraud/alerts?user_id=${u}&limit=20`),
    ]);
    const part = (title, result, show) =>
      section(title, result.status === "fulfilled" ? show(result.value) : failure(result.reason));
    return [
      form,
      part(
        "Stats",
        stats,
        (s) =>
          tiles([["events", s.events], ["purchases", s.purchases], ["spent", s.spent], ["sessions", s.sessions], [
            "engagement_score",
            s.engagement_score,
          ], ["segment", s.segment, s.segment]]),
      ),
      part(
        "Churn risk",
        churn,
        (c) =>
          c.score === null
            ? note("empty", "No churn model yet.", "POST /api/churn/train once there are weeks of history.")
            : h("div", {}, tiles([["churn_score", c.score, pct(c.score)]]), reasons(c.reasons)),
      ),
      part(
        "Session timeline",
        sessions,
        (s) =>
          table("newest first", [["started_at", "started", time], ["duration_s", "seconds"], ["events", "events"], [
            "furthest_step",
            "furthest step",
          ]], s.sessions),
      ),
      part(
        "Fraud alerts",
        alerts,
        (a) =>
          a.alerts.length === 0
            ? note("empty", "No alerts for this user.")
            : table("newest first", [["event_time", "when", time], ["amount", "amount"], ["score", "score"], [
              "reasons",
              "reasons",
              reasons,
            ]], a.alerts),
      ),
    ];
  },

  async "at-risk"() {
    const r = await api("/api/churn/at-risk?limit=50&min_score=0");
    if (r.model_version === null) {
      return [
        note(
          "empty",
          "No churn model yet.",
          "Load history (deno task simulate --history 84), then POST /api/churn/train.",
        ),
      ];
    }
    return [section(
      `Users at risk (model v${r.model_version}, as of ${time(r.as_of)})`,
      r.users.length === 0
        ? note("empty", "Nobody at risk.")
        : table("highest score first", [["user_id", "user", userLink], ["score", "score", (v) => pct(v)], [
          "reasons",
          "why",
          reasons,
        ]], r.users),
    )];
  },

  async fraud() {
    const { alerts } = await api("/api/fraud/alerts?limit=50");
    return [section(
      "Fraud alerts",
      alerts.length === 0
        ? note("empty", "No alerts.", "Purchases that trip the rules appear here within a second.")
        : table("newest first", [["event_time", "when", time], ["user_id", "user", userLink], ["amount", "amount"], [
          "score",
          "score",
        ], ["reasons", "reasons", reasons]], alerts),
    )];
  },

  async products() {
    const [{ products }, country, category] = await Promise.all([
      api("/api/stats/products?limit=20&sort=revenue"),
      api("/api/stats/revenue?by=country"),
      api("/api/stats/revenue?by=category"),
    ]);
    if (products.length === 0) return [note("empty", "No product events yet.")];
    return [
      section(
        "Top products by revenue",
        table("20 highest", [
          ["product_id", "product"],
          ["category", "category"],
          ["views", "views"],
          ["adds_to_cart", "adds"],
          ["purchases", "purchases"],
          ["revenue", "revenue"],
          ["conversion_rate", "conversion", pct],
        ], products),
      ),
      h(
        "div",
        { class: "grid" },
        section(
          "Revenue by country",
          barChart("revenue by country", country.rows.map((r) => ({ label: r.key, value: r.revenue }))),
        ),
        section(
          "Revenue by category",
          barChart("revenue by category", category.rows.map((r) => ({ label: r.key, value: r.revenue }))),
        ),
      ),
    ];
  },

  async pipeline() {
    const [{ plugins, source }, letters] = await Promise.all([api("/api/plugins"), api("/api/dead-letters?limit=20")]);
    const status = (s) => h("span", { class: `status-${s}` }, s);
    return [
      section(
        "Pipeline",
        tiles([["events_per_second", eventsPerSecond()], ["events_in_log", live.snapshot?.head ?? 0], [
          "dead_letters",
          letters.total,
        ]]),
        h("p", {}, `Source: ${source.kind}`),
      ),
      section(
        "Plugins",
        table("status, lag and work done", [
          ["name", "plugin"],
          ["status", "status", status],
          ["lag", "lag"],
          ["processed", "processed"],
          ["failed", "failed"],
          ["storage_bytes", "storage", (bytes, p) => `${mib(bytes)} of ${mib(p.storage_limit_bytes)} MiB`],
          ["error", "last error"],
        ], plugins),
      ),
      section(
        "Dead letters",
        letters.total === 0 ? note("empty", "No dead letters: nothing was rejected.") : table(
          "newest first",
          [["created_at", "when", time], ["stage", "stage"], ["reason", "reason"]],
          letters.items,
        ),
      ),
    ];
  },

  async plugins() {
    const { plugins } = await api("/api/plugins");
    const withPanels = plugins.filter((p) => p.panels?.length);
    if (withPanels.length === 0) return [note("empty", "No plugin declares panels.")];
    const out = [];
    for (const p of withPanels) {
      for (const panel of p.panels) {
        const body = await api(`/api/${p.name}${panel.route}`).then((data) => renderPanel(panel, data), failure);
        out.push(
          h(
            "section",
            { "aria-label": panel.title, "data-plugin": p.name },
            h("h2", {}, `${panel.title} · ${p.name}`),
            body,
          ),
        );
      }
    }
    return out;
  },
};

/**
 * The rows of a plugin's answer, for generic panels: the answer itself or its first array; failing that, its
 * first object of numbers as `{ key, value }` rows.
 */
function firstArray(data) {
  if (Array.isArray(data)) return data;
  const values = Object.values(data ?? {});
  const array = values.find(Array.isArray);
  if (array) return array;
  const counts = values.find((v) => v && typeof v === "object" && Object.values(v).every((n) => typeof n === "number"));
  return counts ? Object.entries(counts).map(([key, value]) => ({ key, value })) : [];
}

/** Renders a plugin panel by its kind, from whatever shape its route answers. */
function renderPanel(panel, data) {
  if (panel.kind === "tiles") {
    return tiles(Object.entries(data).filter(([, v]) => typeof v === "number"));
  }
  const rows = firstArray(data);
  if (rows.length === 0) return note("empty", "Nothing yet.");
  const keys = Object.keys(rows[0]);
  if (panel.kind === "timeseries") {
    const series = keys.filter((k) => typeof rows[0][k] === "number");
    return lineChart(panel.title, rows.map((r) => ({ t: Date.parse(r.start), values: r })), series);
  }
  if (panel.kind === "bar") {
    const label = keys.find((k) => typeof rows[0][k] === "string") ?? keys[0];
    const value = keys.find((k) => typeof rows[0][k] === "number");
    return barChart(panel.title, rows.map((r) => ({ label: r[label], value: r[value] ?? 0 })));
  }
  const show = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v);
  return table(panel.title, keys.map((k) => [k, k.replaceAll("_", " "), show]), rows);
}

/** Events per second over the last few stream updates. */
function eventsPerSecond() {
  const [first, last] = [live.heads[0], live.heads.at(-1)];
  if (!first || last.t === first.t) return 0;
  return Math.round(((last.head - first.head) / (last.t - first.t)) * 1000);
}

/** Renders the view the hash names; one render at a time, again if data changed meanwhile. */
async function render() {
  if (live.rendering) {
    live.dirty = true;
    return;
  }
  live.rendering = true;
  live.lastRender = Date.now();
  const [name, arg] = location.hash.replace(/^#\//, "").split("/");
  const view = views[name] ? name : "live";
  for (const a of document.querySelectorAll("nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${view}`);
    if (a.getAttribute("href") === `#/${view}`) a.setAttribute("aria-current", "page");
  }
  try {
    const nodes = await views[view](arg && decodeURIComponent(arg));
    const active = document.activeElement?.id;
    main.replaceChildren(...nodes);
    if (active) document.getElementById(active)?.focus();
  } catch (e) {
    main.replaceChildren(failure(e));
  } finally {
    main.dataset.view = view;
    main.dataset.rendered = String(Date.now());
    live.rendering = false;
    if (live.dirty) {
      live.dirty = false;
      setTimeout(render, 0);
    }
  }
}

/** Re-renders on changes, at most once a second. */
function changed() {
  const wait = 1000 - (Date.now() - live.lastRender);
  if (wait <= 0) render();
  else if (!live.pending) {
    live.pending = setTimeout(() => {
      live.pending = null;
      render();
    }, wait);
  }
}

function onSnapshot(snapshot) {
  live.snapshot = snapshot;
  live.heads.push({ t: Date.now(), head: snapshot.head });
  while (live.heads.length > 2 && Date.now() - live.heads[0].t > 5000) live.heads.shift();
  changed();
}

/** Listens on /api/stream; polls /api/plugins instead while the stream is down. */
let stream = null;
let poll = null;
function connect() {
  stream?.close();
  clearInterval(poll);
  poll = null;
  stream = new EventSource(token ? `/api/stream?access_token=${encodeURIComponent(token)}` : "/api/stream");
  stream.addEventListener("open", () => {
    connection.textContent = "live";
    clearInterval(poll);
    poll = null;
  });
  stream.addEventListener("update", (e) => onSnapshot(JSON.parse(e.data)));
  stream.addEventListener("error", () => {
    connection.textContent = "reconnecting… (polling every 5 s)";
    poll ??= setInterval(() => api("/api/plugins").then(changed, () => {}), 5000);
  });
}

addEventListener("hashchange", () => {
  render();
  main.focus();
});
connect();
render();
