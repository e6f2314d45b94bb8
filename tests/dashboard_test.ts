import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, noBrowser } from "./support/browser.ts";
import { Simulator } from "../runtime/sources/simulator/mod.ts";
import {
  BACKENDS,
  FIXTURES,
  getJson,
  pluginsFolder,
  postJson,
  REPO,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const SHOTS = new URL("test-results/dashboard/", REPO);
const VIEWS = [
  "live",
  "funnel",
  "retention",
  "paths",
  "users",
  "audience/segments",
  "audience/devices",
  "audience/sessions",
  "audience/videos",
  "at-risk",
  "fraud",
  "alerts",
  "products",
  "pipeline",
  "plugins",
];

/** Opens a view and waits until it has rendered anew, for this hash. */
async function open(page: Page, base: string, view: string) {
  const onDashboard = page.url().startsWith(`${base}/#`) || page.url() === `${base}/`;
  const shown = onDashboard ? await page.locator("#view").getAttribute("data-rendered") : null;
  await page.goto(`${base}/#/${view}`);
  // Selectors only: the page's Content-Security-Policy forbids evaluating strings in it.
  const fresh = shown === null ? "" : `:not([data-rendered="${shown}"])`;
  await page.waitForSelector(`#view[data-view="${view.split(/[/?]/)[0]}"][data-hash="#/${view}"]${fresh}`);
}

Deno.test({
  name: "the dashboard in a real browser: every view, the API's numbers, live updates, a plugin's panel",
  // Chromium comes from apt (`.ci/run` installs it); without it, and outside CI, this test cannot run here.
  ignore: noBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shipped = ["stats", "funnel", "churn", "fraud", "alerts"];
    const plugins = shipped.map((name) => ({ name, from: new URL("plugins/", REPO) }));
    const pluginsDir = await pluginsFolder([...plugins, { name: "counter", from: FIXTURES }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const rule = { kpi: "events", condition: "below", threshold: 100_000, grace_minutes: 0 };
      const saved = await rt.app.request("/api/alerts/rules/busy-hour", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(rule),
      });
      assert.equal(saved.status, 201);
      const funnel = { name: "view-cart-buy", steps: ["product_view", "add_to_cart", "purchase"] };
      const defined = await rt.app.request("/api/funnel/definitions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(funnel),
      });
      assert.equal(defined.status, 201);
      const events = new Simulator({ seed: 8, users: 200, start: new Date("2026-02-01T10:00:00Z") }).take(2000);
      for (let i = 0; i < events.length; i += 1000) await postJson(rt, "/v1/events", events.slice(i, i + 1000));
      // A visit the day before: all time is more than the last hour.
      await postJson(rt, "/v1/events", [{ ...events[0], event_id: "yesterday-1", timestamp: "2026-01-31T10:00:00Z" }]);
      await waitForCatchUp(rt);
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, rt.app.fetch);
      const base = `http://127.0.0.1:${server.addr.port}`;
      let browser: Browser | null = null;
      try {
        browser = await launchChromium();
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        page.on("pageerror", (e) => errors.push(String(e)));
        await Deno.mkdir(SHOTS, { recursive: true });

        // Every view loads, without a console error, and is kept as a screenshot; each of its tables offers its CSV.
        let tables = 0;
        for (const view of [...VIEWS, `users/${events[0].user_id}`]) {
          await open(page, base, view);
          assert.equal(await page.locator("#view .state.error").count(), 0, `${view} shows an error`);
          const shown = await page.locator("#view table").count();
          assert.equal(await page.locator("#view table > caption > button.csv").count(), shown, `${view}: CSV buttons`);
          tables += shown;
          await page.screenshot({ path: new URL(`${view.replace("/", "-")}.png`, SHOTS).pathname, fullPage: true });
        }
        assert.ok(tables >= 18, `tables seen: ${tables}`);
        // An unknown user is an empty state, not an error.
        await open(page, base, "users/nobody");
        await page.waitForSelector("#view >> text=Nothing here"); // the same view as before: wait for its new render
        assert.equal(await page.locator("#view .state.error").count(), 0);
        assert.match(await page.textContent("#view") ?? "", /Nothing here: no events for user 'nobody'/);
        errors.splice(0, errors.length, ...errors.filter((e) => !/status of 404/.test(e))); // the lookups' own 404s
        assert.deepEqual(errors, []);

        // The numbers shown are the API's.
        await open(page, base, "live");
        const overview = (await getJson(rt, "/api/stats/overview")).body;
        for (const key of ["events", "users", "sessions", "purchases", "revenue"]) {
          const shown = await page.getAttribute(`.tile[data-key="${key}"] .value`, "data-value");
          assert.equal(Number(shown), overview[key], key);
        }
        // The range's tiles, by default the hour of event time up to the watermark's minute.
        const minute = Math.floor(Date.parse(rt.eventLog.watermark!) / 60_000) * 60_000;
        const hourRange = `from=${new Date(minute - 59 * 60_000).toISOString()}&to=${
          new Date(minute + 60_000).toISOString()
        }`;
        const lastHour = (await getJson(rt, `/api/stats/overview?${hourRange}`)).body;
        assert.ok(lastHour.events > 0 && lastHour.events < overview.events, "the last hour is a part of all time");
        await page.waitForSelector('.tile[data-key="range_events"]');
        for (const key of ["events", "users", "sessions", "purchases", "revenue"]) {
          const shown = await page.getAttribute(`.tile[data-key="range_${key}"] .value`, "data-value");
          assert.equal(Number(shown), lastHour[key], `last hour's ${key}`);
        }

        // A range in the URL: 24 hours of event time against the 24 before (which hold the visit of the day before).
        const iso = (ms: number) => new Date(ms).toISOString();
        const end = minute + 60_000;
        const day = `from=${iso(end - 86_400_000)}&to=${iso(end)}`;
        const dayBefore = `from=${iso(end - 2 * 86_400_000)}&to=${iso(end - 86_400_000)}`;
        const [now, dayBeforeOverview] = await Promise.all(
          [day, dayBefore].map(async (q) => (await getJson(rt, `/api/stats/overview?${q}`)).body),
        );
        assert.deepEqual([now.events, dayBeforeOverview.events], [overview.events - 1, 1]); // all but yesterday's visit
        await open(page, base, "live?range=24h&compare=1");
        assert.equal(
          Number(await page.getAttribute('.tile[data-key="range_events"] .value', "data-value")),
          now.events,
        );
        const compared = page.locator("section[aria-label='Compared with the period before'] tbody tr");
        const eventsRow = await compared.first().locator("td").allTextContents();
        const percent = `+${((now.events - 1) / 1 * 100).toFixed(1)}%`;
        assert.deepEqual(eventsRow, ["events", now.events.toLocaleString("en-US"), "1", percent]);
        assert.equal(await compared.count(), 8);
        // Broken down by a property and filtered by another: the table and tiles are the API's, the choices in the URL.
        await page.selectOption("#slice-by", "country");
        await page.waitForSelector('#view[data-hash="#/live?range=24h&compare=1&breakdown=country"]');
        const byCountry = (await getJson(rt, `/api/stats/overview?${day}&breakdown=country`)).body.breakdown.rows;
        const countryRows = page.locator("section[aria-label='By country'] tbody tr");
        assert.ok(byCountry.length > 1);
        assert.equal(await countryRows.count(), byCountry.length);
        for (const [i, r] of byCountry.entries()) {
          const [key, events] = await countryRows.nth(i).locator("td").allTextContents();
          assert.deepEqual([key, events], [
            r.other ? "(other values)" : r.key ?? "(not set)",
            r.events.toLocaleString("en-US"),
          ]);
        }
        await page.waitForSelector("section[aria-label='Events per hour by country'] svg");
        const device = (await getJson(rt, `/api/stats/overview?${day}&breakdown=device`)).body.breakdown.rows[0].key;
        await page.fill("#slice-property", "device");
        await page.selectOption("#slice-op", "eq");
        await page.fill("#slice-value", device);
        await page.click("form.slice button[type=submit]");
        const filteredHash = `#/live?range=24h&compare=1&breakdown=country&where=device%3Aeq%3A${device}`;
        await page.waitForSelector(`#view[data-hash="${filteredHash}"]`);
        const onDevice = (await getJson(rt, `/api/stats/overview?${day}&where=device:eq:${device}`)).body;
        assert.ok(onDevice.events > 0 && onDevice.events < now.events);
        assert.equal(
          Number(await page.getAttribute('.tile[data-key="range_events"] .value', "data-value")),
          onDevice.events,
        );
        assert.equal(await page.textContent('.tile[data-key="range_sessions"] .value'), "—"); // sessions are not split
        assert.equal(await page.textContent(".filters li"), `device is ${device} ×`);
        await page.screenshot({ path: new URL("live-breakdown.png", SHOTS).pathname, fullPage: true });
        await page.click(`button[aria-label="Remove filter: device is ${device}"]`);
        await page.waitForSelector('#view[data-hash="#/live?range=24h&compare=1&breakdown=country"]');
        await page.selectOption("#slice-by", "");
        await page.waitForSelector('#view[data-hash="#/live?range=24h&compare=1"]');
        // A condition the API refuses (a number's operator, a word): the controls stay, and its chip takes it back.
        await open(page, base, "live?range=24h&where=price%3Agt%3Aten");
        assert.match(await page.textContent(".state.error") ?? "", /where: gt compares with a number/);
        const badRequests = errors.filter((e) => /status of 400/.test(e)); // the refused condition's own
        assert.ok(badRequests.length >= 1);
        errors.splice(0, errors.length, ...errors.filter((e) => !badRequests.includes(e)));
        await page.click('button[aria-label="Remove filter: price > ten"]');
        await page.waitForSelector('#view[data-hash="#/live?range=24h"] .tile[data-key="range_events"]');
        await open(page, base, "live?range=24h&compare=1");
        // A custom funnel broken down by country, counting desktop events only; its people keep the condition.
        await open(page, base, "funnel?breakdown=country&where=device%3Aeq%3Adesktop");
        const sliced =
          (await getJson(rt, "/api/funnel/definitions/view-cart-buy/report?breakdown=country&where=device:eq:desktop"))
            .body;
        const whole = (await getJson(rt, "/api/funnel/definitions/view-cart-buy/report")).body;
        assert.ok(sliced.users > 0 && sliced.users < whole.users, `${sliced.users} of ${whole.users}`);
        const funnelRows = page.locator("table:has(caption:text('users of view-cart-buy by country')) tbody tr");
        assert.equal(await funnelRows.count(), sliced.breakdown.rows.length);
        for (const [i, r] of sliced.breakdown.rows.entries()) {
          const [key, entered] = await funnelRows.nth(i).locator("td").allTextContents();
          assert.deepEqual([key, entered], [r.other ? "(other values)" : r.key ?? "(not set)", String(r.users[0])]);
        }
        await page.click(
          "table:has(caption:text('users per step of view-cart-buy')) tbody tr:nth-child(3) td[data-key='users'] a",
        );
        await page.waitForSelector("#view[data-view='people'] p.total");
        assert.equal(Number(await page.getAttribute("p.total", "data-value")), sliced.steps[2].users);
        assert.match(
          await page.locator("#view h2").first().textContent() ?? "",
          /counting events where device is desktop$/,
        );
        await open(page, base, "live?range=24h&compare=1");
        // Another preset: the URL says so, and the nav takes the range to the next view.
        await page.selectOption("#range-preset", "7d");
        await page.waitForSelector('#view[data-hash="#/live?range=7d&compare=1"]');
        assert.equal(await page.getAttribute("nav a[href^='#/funnel']", "href"), "#/funnel?range=7d&compare=1");
        await page.click("nav a[href^='#/funnel']");
        await page.waitForSelector('#view[data-view="funnel"][data-hash="#/funnel?range=7d&compare=1"]');
        const lastWeek = `from=${iso(end - 7 * 86_400_000)}&to=${iso(end)}`;
        const weekSummary = (await getJson(rt, `/api/funnel/summary?${lastWeek}`)).body;
        assert.equal(
          Number(await page.getAttribute('.tile[data-key="sessions"] .value', "data-value")),
          weekSummary.sessions,
        );
        const against = page.locator("table:has(caption:text('against the period before')) tbody tr");
        assert.equal(await against.count(), weekSummary.steps.length);
        await page.screenshot({ path: new URL("funnel-7d-compare.png", SHOTS).pathname, fullPage: true });
        // Whole days: the first of February only, which leaves the visit of the day before out.
        await open(page, base, "funnel?from=2026-02-01&to=2026-02-01");
        const feb1 = (await getJson(rt, "/api/funnel/summary?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z")).body;
        const all = (await getJson(rt, "/api/funnel/summary")).body;
        assert.ok(feb1.sessions < all.sessions, `${feb1.sessions} of ${all.sessions}`);
        assert.equal(Number(await page.getAttribute('.tile[data-key="sessions"] .value', "data-value")), feb1.sessions);
        assert.equal(await page.inputValue("#range-from"), "2026-02-01");
        // Choosing days from a preset starts from the days of the range in view: the 7 days up to 10:5x on the 1st.
        await open(page, base, "funnel?range=7d");
        await page.selectOption("#range-preset", "custom");
        await page.waitForSelector('#view[data-hash="#/funnel?from=2026-01-25&to=2026-02-01"]');
        // The other views read the range too: devices (against the day before), retention's cohorts, products' charts.
        await open(page, base, "audience/devices?range=24h&compare=1");
        const dayDevices = (await getJson(rt, `/api/stats/revenue?by=device&${day}`)).body.rows;
        const deviceRows = await page.locator("section[aria-label='Revenue by device'] tbody tr").allTextContents();
        assert.deepEqual(
          deviceRows,
          dayDevices.map((d: { key: string; revenue: number; purchases: number; users: number }) =>
            `${d.key}${d.revenue.toLocaleString("en-US")}${d.purchases}${d.users}0—`
          ),
        );
        assert.equal(
          await page.getAttribute("nav.filters a[href^='#/audience/sessions']", "href"),
          "#/audience/sessions?range=24h&compare=1",
        );
        await open(page, base, "retention?from=2026-02-01&to=2026-02-01");
        await page.locator("table.retention").waitFor();
        const feb1Cohorts = (await getJson(
          rt,
          "/api/stats/retention?periods=7&from=2026-02-01T00:00:00.000Z&to=2026-02-02T00:00:00.000Z",
        )).body.cohorts;
        assert.deepEqual(
          await page.locator("table.retention tbody tr[data-cohort]").evaluateAll((rows) =>
            rows.map((r) => r.getAttribute("data-cohort"))
          ),
          feb1Cohorts.map((c: { start: string }) => c.start),
        );
        await open(page, base, "products?from=2026-02-01&to=2026-02-01");
        assert.equal(
          await page.getAttribute("section[aria-label='Revenue by country'] svg.chart", "aria-label"),
          "revenue by country, 2026-02-01",
        );
        // Its top products are the range's: the API's, in its order, against the period before when compared.
        const topOf = async (q: string) =>
          (await getJson(rt, `/api/stats/products?limit=20&sort=revenue&${q}`)).body.products as {
            product_id: string;
            revenue: number;
          }[];
        const ids = (products: { product_id: string }[]) => products.map((p) => p.product_id);
        const topCells = "section[aria-label='Top products by revenue'] tbody td[data-key='product_id']";
        assert.deepEqual(
          await page.locator(topCells).allTextContents(),
          ids(await topOf("from=2026-02-01T00:00:00.000Z&to=2026-02-02T00:00:00.000Z")),
        );
        // The day before holds one page view: no product, where all time has many.
        assert.deepEqual(await topOf("from=2026-01-31T00:00:00.000Z&to=2026-02-01T00:00:00.000Z"), []);
        await open(page, base, "products?from=2026-01-31&to=2026-01-31");
        await page.waitForSelector("#view >> text=No product events in this range.");
        await open(page, base, "products?range=24h&compare=1");
        await page.waitForSelector("section[aria-label='Top products by revenue'] tbody td[data-key='change']");
        const dayTop = await topOf(day);
        assert.deepEqual(await page.locator(topCells).allTextContents(), ids(dayTop));
        assert.deepEqual(await topOf(dayBefore), []);
        assert.deepEqual(
          await page.locator("section[aria-label='Top products by revenue'] tbody td[data-key='before']")
            .allTextContents(),
          dayTop.map(() => "0"),
        );

        // Audience: each page's table is the API's, and each bar tells its value on hover.
        await open(page, base, "audience/segments");
        const segments = (await getJson(rt, "/api/stats/segments")).body.segments;
        const segmentRows = await page.locator("section[aria-label='Users per RFM segment'] tbody tr")
          .allTextContents();
        const users = segments.reduce((sum: number, s: { users: number }) => sum + s.users, 0);
        assert.deepEqual(
          segmentRows,
          segments.map((s: { segment: string; users: number }) =>
            `${s.segment}${s.users.toLocaleString("en-US")}${(s.users / users * 100).toFixed(1)}%`
          ),
        );
        assert.match(await page.locator("svg rect title").first().textContent() ?? "", /^champion: [\d,]+ \(/);
        // The people behind a segment: its count links to them, a page at a time, each linking to the user's view.
        const biggest = segments.toSorted((a: { users: number }, b: { users: number }) => b.users - a.users)[0];
        await page.click(`section[aria-label='Users per RFM segment'] tbody tr:has-text('${biggest.segment}') a`);
        await page.waitForSelector("#view[data-view='people'] p.total");
        assert.equal(Number(await page.getAttribute("p.total", "data-value")), biggest.users);
        const listed = (await getJson(rt, `/api/stats/segments/${biggest.segment}/users`)).body;
        const shownUsers = await page.locator("#view tbody td[data-key='user_id'] a").allTextContents();
        assert.deepEqual(shownUsers, listed.users.map((u: { user_id: string }) => u.user_id));
        // Ten at a time (the hash holds the API's query), the next page is a link away.
        const tenQuery = new URLSearchParams({ of: "segment", segment: biggest.segment, limit: "10" });
        await open(page, base, "live"); // another view between, so that the next one is surely the new page's
        await page.goto(`${base}/#/people/${encodeURIComponent(tenQuery.toString())}`);
        await page.waitForSelector("#view[data-view='people'] nav.pages a[rel='next']");
        const ten = (await getJson(rt, `/api/stats/segments/${biggest.segment}/users?limit=10`)).body;
        await page.click("#view nav.pages a[rel='next']");
        await page.waitForSelector("#view nav.pages a[rel='first']");
        const second =
          (await getJson(rt, `/api/stats/segments/${biggest.segment}/users?limit=10&after=${ten.next}`)).body;
        assert.deepEqual(
          await page.locator("#view tbody td[data-key='user_id'] a").allTextContents(),
          second.users.map((u: { user_id: string }) => u.user_id),
        );
        await page.screenshot({ path: new URL("people-segment.png", SHOTS).pathname, fullPage: true });
        await page.locator("#view tbody td[data-key='user_id'] a").first().click();
        await page.waitForSelector("#view[data-view='users']");
        assert.equal(page.url(), `${base}/#/users/${second.users[0].user_id}`);
        // At risk, 50 at a time.
        const atRisk = (await getJson(rt, "/api/churn/at-risk?limit=50&min_score=0&offset=50")).body;
        assert.ok(atRisk.users.length > 0, "a second page of users at risk");
        await open(page, base, "at-risk");
        assert.equal(Number(await page.getAttribute("p.total", "data-value")), atRisk.total);
        await page.click("#view nav.pages a[rel='next']");
        await page.waitForSelector("#view nav.pages a[rel='first']");
        assert.equal(
          await page.locator("#view tbody td[data-key='user_id'] a").first().textContent(),
          atRisk.users[0].user_id,
        );
        await open(page, base, "audience/devices");
        const devices = (await getJson(rt, "/api/stats/revenue?by=device")).body.rows;
        assert.equal(await page.locator("section[aria-label='Revenue by device'] tbody tr").count(), devices.length);
        await open(page, base, "audience/videos");
        const videos = (await getJson(rt, "/api/stats/videos?limit=20")).body.videos;
        assert.ok(videos.length > 0);
        const videoCells = "section[aria-label='Videos, most played first'] tbody tr td[data-key='video_id']";
        assert.equal(await page.locator(videoCells).first().textContent(), videos[0].video_id);
        await open(page, base, "audience/videos?from=2026-01-31&to=2026-01-31");
        await page.waitForSelector("#view >> text=No videos played in this range.");
        // Over a range, against the period before: the views begun in the last 24 hours, none the day before.
        await open(page, base, "audience/videos?range=24h&compare=1");
        await page.waitForSelector("section[aria-label='Videos, most played first'] tbody td[data-key='change']");
        const dayVideos = (await getJson(rt, `/api/stats/videos?limit=20&${day}`)).body.videos;
        assert.deepEqual(
          await page.locator(videoCells).allTextContents(),
          dayVideos.map((v: { video_id: string }) => v.video_id),
        );
        assert.deepEqual(
          await page.locator("section[aria-label='Videos, most played first'] tbody td[data-key='before']")
            .allTextContents(),
          dayVideos.map(() => "0"),
        );
        await open(page, base, "audience/sessions");
        // The view's name was already "audience": wait for this page's table, not just the view.
        await page.waitForSelector("section[aria-label='Session length'] tbody td[data-key='sessions']");
        const sessions = (await getJson(rt, "/api/stats/sessions")).body;
        const lengths = await page.locator("section[aria-label='Session length'] tbody td[data-key='sessions']")
          .allTextContents();
        assert.deepEqual(
          lengths,
          sessions.duration_s.map((b: { sessions: number }) => b.sessions.toLocaleString("en-US")),
        );
        assert.equal(
          await page.locator("nav[aria-label='Audience pages'] a[aria-current='page']").textContent(),
          "Sessions",
        );

        const steps = (await getJson(rt, "/api/funnel/summary")).body.steps;
        await open(page, base, "funnel");
        const bars = await page.locator("section[aria-label='Shopping funnel (per session)'] svg text")
          .allTextContents();
        for (const s of steps) assert.ok(bars.some((t) => t.startsWith(s.sessions.toLocaleString("en-US"))), s.step);
        // Each step links to its users: those whose sessions stopped just before checkout.
        const stopped = (await getJson(rt, "/api/funnel/summary/users?step=checkout&outcome=dropped")).body;
        await page.click(
          "section[aria-label='Shopping funnel (per session)'] tr:has-text('checkout') a:text('who stopped before')",
        );
        await page.waitForSelector("#view[data-view='people'] p.total");
        assert.equal(Number(await page.getAttribute("p.total", "data-value")), stopped.total);
        assert.match(await page.locator("#view h2").textContent() ?? "", /sessions that stopped before checkout/);

        // Retention: the triangle's cells are the API's, the choices go to the hash, and the curves show values on hover.
        const retention = (await getJson(rt, "/api/stats/retention?periods=4")).body;
        await open(page, base, "retention/periods=4");
        const cohort = retention.cohorts.find((c: { users: number }) => c.users > 0);
        const cells = page.locator(`table.retention tr[data-cohort="${cohort.start}"] td`);
        await cells.first().waitFor();
        const shown = await Promise.all((await cells.all()).map((c) => c.getAttribute("data-value")));
        assert.deepEqual(shown, [cohort.users, ...cohort.retained].map((n) => n === null ? "" : String(n)));
        assert.ok(await page.locator("figure svg circle.point title").count() > 0);
        await page.selectOption("#retention-interval", "week");
        await page.waitForSelector("table.retention caption:text('cohorts by first week')");
        assert.equal(page.url(), `${base}/#/retention/interval=week&periods=4`);
        const weekly = (await getJson(rt, "/api/stats/retention?interval=week&periods=4")).body;
        assert.equal(
          await page.locator("table.retention tbody tr[data-cohort]").count(),
          weekly.cohorts.length,
        );
        await page.screenshot({ path: new URL("retention-week.png", SHOTS).pathname, fullPage: true });
        // A cell links to its users: the cohort's, back in that week.
        const week = weekly.cohorts.find((c: { users: number }) => c.users > 0);
        await page.click(`table.retention tr[data-cohort="${week.start}"] td:nth-of-type(2) a`);
        await page.waitForSelector("#view[data-view='people'] p.total");
        assert.equal(Number(await page.getAttribute("p.total", "data-value")), week.users);
        assert.match(await page.locator("#view h2").textContent() ?? "", new RegExp(`in the week of ${week.start}`));

        // Paths: the flow's steps and bands are the API's, with counts on hover; the table behind it too.
        const paths = (await getJson(rt, "/api/funnel/paths?event=product_view&depth=2&width=5&top=20")).body;
        await open(page, base, "paths/depth=2");
        await page.locator("svg.flow g[data-step]").first().waitFor();
        const flow = await page.locator("svg.flow g[data-step]").evaluateAll((gs) =>
          gs.map((g) => [g.getAttribute("data-step"), g.querySelector("title")?.textContent])
        );
        assert.deepEqual(
          flow,
          paths.nodes.map((n: { level: number; step: string; sessions: number; drop_off: number }) => [
            `${n.level} ${n.step}`,
            `${n.step}: ${n.sessions.toLocaleString("en-US")}, ${n.drop_off.toLocaleString("en-US")} ended here`,
          ]),
        );
        assert.equal(await page.locator("svg.flow path.band title").count(), paths.links.length);
        const levels = await page.locator("#view table").first().locator('tbody td[data-key="sessions"]')
          .allTextContents();
        assert.deepEqual(levels, paths.nodes.map((n: { sessions: number }) => n.sessions.toLocaleString("en-US")));
        await page.selectOption("#paths-direction", "previous");
        await page.waitForSelector("table caption:text('the most frequent paths before product_view')");
        assert.equal(page.url(), `${base}/#/paths/${encodeURIComponent("direction=previous&depth=2")}`);
        await page.screenshot({ path: new URL("paths-previous.png", SHOTS).pathname, fullPage: true });

        // A posted event shows up without a reload, pushed over /api/stream.
        await open(page, base, "live");
        const before = Number(await page.getAttribute('.tile[data-key="events"] .value', "data-value"));
        await postJson(rt, "/v1/events", [{ ...events[5], event_id: "live-1", timestamp: events.at(-1)!.timestamp }]);
        await page.waitForSelector(`.tile[data-key="events"] .value[data-value="${before + 1}"]`, { timeout: 5000 });
        assert.equal(await page.textContent("#connection"), "live");

        // Keyboard: a view opened puts the focus on it, so Tab reaches its own controls first (the range); the views are
        // links reached with Tab from the top and opened with Enter; dark mode keeps its own screenshot.
        await page.keyboard.press("Tab");
        assert.equal(await page.locator(":focus").getAttribute("id"), "range-preset");
        await page.reload(); // from the top of the page
        await page.waitForSelector('#view[data-view="live"] .tile[data-key="events"]');
        await page.keyboard.press("Tab");
        assert.equal(await page.locator(":focus").textContent(), "Live");
        await page.keyboard.press("Tab");
        await page.keyboard.press("Enter");
        await page.waitForSelector('#view[data-view="funnel"]');
        await page.emulateMedia({ colorScheme: "dark" });
        await page.screenshot({ path: new URL("funnel-dark.png", SHOTS).pathname, fullPage: true });
        await page.emulateMedia({ colorScheme: "light" });

        // Dead letters by state, the state kept in the hash: the API's counts, and a letter's retries and last error.
        const refused = await postJson(rt, "/v1/events", [
          { ...events[1], event_id: "nul\u0000" }, // stored altered: no retry of it can succeed
          { ...events[2], event_id: "in-dollars", type: "purchase", properties: { amount: 5, currency: "USD" } },
        ]);
        assert.equal(refused.body.rejected.length, 2);
        await postJson(rt, "/api/dead-letters/replay", { stage: "ingest" });
        assert.deepEqual((await getJson(rt, "/api/dead-letters")).body.by_state, {
          pending: 0,
          retrying: 1,
          dead: 1,
          resolved: 0,
        });
        await open(page, base, "pipeline/dead");
        const letters = page.locator("section[aria-label='Dead letters']");
        await letters.locator("a[aria-current='page']").waitFor();
        assert.equal(await letters.locator("a[aria-current='page']").textContent(), "dead (1)");
        assert.equal(await letters.locator("a[data-state='all']").textContent(), "all (2)");
        const dead = await letters.locator("tbody tr").allTextContents();
        assert.equal(dead.length, 1);
        assert.match(dead[0], /ingestdead1.*give a corrected payload/);
        await page.screenshot({ path: new URL("pipeline-dead.png", SHOTS).pathname, fullPage: true });
        await letters.locator("a[data-state='retrying']").click();
        await page.waitForSelector("section[aria-label='Dead letters'] a[data-state='retrying'][aria-current='page']");
        const retrying = await page.locator("section[aria-label='Dead letters'] tbody tr").allTextContents();
        assert.equal(retrying.length, 1);
        assert.match(retrying[0], /ingestretrying1.*no rate for USD/);
        assert.equal(page.url(), `${base}/#/pipeline/retrying`);

        // A dropped-in plugin's panel appears, from its declaration alone.
        await open(page, base, "plugins");
        const panel = page.locator('section[data-plugin="counter"]');
        assert.equal(await panel.locator("h2").textContent(), "Counts · counter");
        const rows = await panel.locator("tbody tr").allTextContents();
        const counts = (await getJson(rt, "/api/counter/counts")).body.counts;
        assert.deepEqual(
          rows,
          Object.entries(counts).map(([type, n]) => `${type}${(n as number).toLocaleString("en-US")}`),
        );

        // The API docs page renders every operation of /api/openapi.json, and its "Try it" sends a real request.
        const doc = (await getJson(rt, "/api/openapi.json")).body;
        const operations = Object.values(doc.paths as Record<string, object>).flatMap((item) => Object.keys(item));
        await page.goto(`${base}/docs`);
        await page.waitForSelector("article.operation");
        assert.equal(await page.locator("article.operation").count(), operations.length);
        for (const tag of ["host", "stats", "funnel", "churn", "fraud", "counter"]) {
          assert.equal(await page.locator(`section#tag-${tag} h2`).textContent(), tag);
        }
        const overviewOp = page.locator("article#stats_get_api_stats_overview");
        assert.match(await overviewOp.locator("table").textContent() ?? "", /from\?/);
        await overviewOp.locator("summary", { hasText: "Try it" }).click();
        await overviewOp.locator("button", { hasText: "Send GET" }).click();
        await overviewOp.locator("pre.answer", { hasText: "200" }).waitFor();
        const answer = (await overviewOp.locator("pre.answer").textContent())!;
        assert.equal(JSON.parse(answer.slice(answer.indexOf("\n") + 1)).events, overview.events + 1);
        await page.screenshot({ path: new URL("docs.png", SHOTS).pathname, fullPage: false });

        // Alerts: events past 11:00 close the 10:00 hour, whose rule fires; the view shows the API's alert, and the
        // rule's KPI per hour with its threshold. (More than half of the last 25 events: one device's clock alone does
        // not move the alerts' watermark.)
        const pastEleven = Array.from({ length: 13 }, (_, k) => ({
          ...events[3],
          event_id: `past-eleven-${k}`,
          timestamp: "2026-02-01T11:05:00Z",
        }));
        await postJson(rt, "/v1/events", pastEleven);
        await waitForCatchUp(rt);
        const fired = (await getJson(rt, "/api/alerts/fired")).body.alerts;
        assert.deepEqual(fired.map((a: { alert_id: string }) => a.alert_id), [
          "busy-hour:hour:2026-02-01T10:00:00.000Z",
        ]);
        await open(page, base, "alerts");
        const firedRows = page.locator("section[aria-label='Fired'] tbody tr");
        assert.equal(await firedRows.count(), 1);
        assert.equal(
          await firedRows.first().locator('td[data-key="value"]').textContent(),
          fired[0].value.toLocaleString("en-US"),
        );
        assert.equal(await page.locator("section[aria-label='events per hour'] figure svg").count(), 1);
        assert.equal(await page.locator("#alerts-rule option").count(), 1);
        await page.screenshot({ path: new URL("alerts-fired.png", SHOTS).pathname, fullPage: true });
        assert.deepEqual(errors, []);
      } finally {
        await browser?.close();
        await server.shutdown();
      }
    });
  },
});

Deno.test({
  name: "the dashboard and the docs page ask for an API token when the runtime requires one, then show the data",
  ignore: noBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
    await withRuntime(BACKENDS[0], { pluginsDir, apiTokens: ["read-1"], ingestKeys: ["write-1"] }, async (rt) => {
      const events = new Simulator({ seed: 9, users: 50, start: new Date("2026-02-01T10:00:00Z") }).take(300);
      await rt.app.request("/v1/events", {
        method: "POST",
        headers: { authorization: "Bearer write-1" },
        body: JSON.stringify(events),
      });
      await waitForCatchUp(rt);
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, rt.app.fetch);
      let browser: Browser | null = null;
      try {
        browser = await launchChromium();
        const page = await browser.newPage();
        await open(page, `http://127.0.0.1:${server.addr.port}`, "live");
        assert.match(await page.textContent("#view") ?? "", /requires a read token/);
        await page.fill("#api-token", "write-1"); // an ingest key is the wrong kind
        const asked = await page.locator("#view").getAttribute("data-rendered");
        await page.click("text=Use it");
        await page.waitForSelector(`#view:not([data-rendered="${asked}"]) #api-token`); // asked again, anew
        await page.fill("#api-token", "read-1");
        await page.click("text=Use it");
        await page.waitForSelector('.tile[data-key="events"]');
        assert.equal(await page.getAttribute('.tile[data-key="events"] .value', "data-value"), "300");
        await page.waitForSelector('#connection:text-is("live")');

        // A table's CSV: saved as a file, with the token, every product (the table shows 20), as the API exports it.
        await open(page, `http://127.0.0.1:${server.addr.port}`, "products");
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.click("section[aria-label='Top products by revenue'] caption button.csv"),
        ]);
        assert.equal(download.suggestedFilename(), "stats-products.csv");
        const saved = await Deno.readTextFile(await download.path());
        const auth = { headers: { authorization: "Bearer read-1" } };
        const products = await (await rt.app.request("/api/stats/products?limit=1000&sort=revenue", auth)).json();
        assert.ok(products.products.length > 20, "more products than the table shows");
        assert.equal(saved.split("\r\n").length, products.products.length + 2); // the header, the rows, the end
        assert.equal(saved.split("\r\n")[1].split(",")[0], `"${products.products[0].product_id}"`);
        assert.equal(
          saved,
          await (await rt.app.request("/api/stats/products?limit=1000&sort=revenue&format=csv", auth)).text(),
        );

        // The docs page, in a fresh tab without the token, asks for it too, then renders the document.
        const docs = await browser.newPage();
        await docs.goto(`http://127.0.0.1:${server.addr.port}/docs`);
        await docs.waitForSelector("#api-token");
        await docs.fill("#api-token", "read-1");
        await docs.click("text=Use it");
        await docs.waitForSelector("article#stats_get_api_stats_overview");
        assert.match(await docs.textContent("article#host_post_v1_events") ?? "", /Needs: ingestKey or writeKey/);
      } finally {
        await browser?.close();
        await server.shutdown();
      }
    });
  },
});
