/**
 * analytics.js served by the runtime, so a shop's page needs nothing of Segment's: one script tag,
 * `<script src="https://<runtime>/analytics.js/v1/<writeKey>/analytics.min.js"></script>`, loads Segment's own
 * standalone bundle (`@segment/analytics-next`, pinned in deno.json) behind a short prelude that queues the page's
 * calls until it has loaded and points it at this host for its settings, its lazy chunks and its events. The chunks
 * are served where the bundle looks for them, `/analytics-next/bundles/<file>`.
 * @module
 */
import type { Hono } from "hono";
import standalone from "@segment/analytics-next/dist/umd/standalone.js" with { type: "text" };
import chunk407 from "@segment/analytics-next/dist/umd/407.bundle.61efa1acb302134c434b.js" with { type: "text" };
import ajsDestination from "@segment/analytics-next/dist/umd/ajs-destination.bundle.40628baed746e9904edc.js" with {
  type: "text",
};
import autoTrack from "@segment/analytics-next/dist/umd/auto-track.bundle.f131ce01a05e3a33a8c1.js" with {
  type: "text",
};
import legacyVideos from "@segment/analytics-next/dist/umd/legacyVideos.bundle.c8148be87c48a2b6537a.js" with {
  type: "text",
};
import queryString from "@segment/analytics-next/dist/umd/queryString.bundle.34b193ada8fe288d1bd1.js" with {
  type: "text",
};
import remoteMiddleware from "@segment/analytics-next/dist/umd/remoteMiddleware.bundle.063bbf80c88cda449d9c.js" with {
  type: "text",
};
import schemaFilter from "@segment/analytics-next/dist/umd/schemaFilter.bundle.a6a77355d52c20e3a83d.js" with {
  type: "text",
};
import tsubMiddleware from "@segment/analytics-next/dist/umd/tsub-middleware.bundle.89bf07058b3d3b126984.js" with {
  type: "text",
};
import { HttpError } from "./errors.ts";
import { describeRoute } from "./openapi.ts";

/** The bundle's lazy chunks by file name, as its webpack runtime asks for them. */
const CHUNKS: Record<string, string> = {
  "standalone.js": standalone,
  "407.bundle.61efa1acb302134c434b.js": chunk407,
  "ajs-destination.bundle.40628baed746e9904edc.js": ajsDestination,
  "auto-track.bundle.f131ce01a05e3a33a8c1.js": autoTrack,
  "legacyVideos.bundle.c8148be87c48a2b6537a.js": legacyVideos,
  "queryString.bundle.34b193ada8fe288d1bd1.js": queryString,
  "remoteMiddleware.bundle.063bbf80c88cda449d9c.js": remoteMiddleware,
  "schemaFilter.bundle.a6a77355d52c20e3a83d.js": schemaFilter,
  "tsub-middleware.bundle.89bf07058b3d3b126984.js": tsubMiddleware,
};

/** The calls a page may make before the bundle has loaded; the prelude queues them, the bundle replays them. */
const QUEUED = [
  "trackSubmit",
  "trackClick",
  "trackLink",
  "trackForm",
  "pageview",
  "identify",
  "reset",
  "group",
  "track",
  "ready",
  "alias",
  "debug",
  "page",
  "screen",
  "once",
  "off",
  "on",
  "addSourceMiddleware",
  "addIntegrationMiddleware",
  "setAnonymousId",
  "addDestinationMiddleware",
  "register",
];

/**
 * What runs before the bundle: `window.analytics` as a queue of calls (each event call with the page as it was when
 * made, as Segment's snippet records it), the write key, and this host as the bundle's CDN (`_cdn`), which it would
 * otherwise read from an https script URL only.
 */
function prelude(writeKey: string, origin: string): string {
  return `(function () {
  var analytics = (window.analytics = window.analytics || []);
  if (analytics.initialize || analytics.invoked) return;
  analytics.invoked = true;
  analytics.methods = ${JSON.stringify(QUEUED)};
  analytics.factory = function (method) {
    return function () {
      if (window.analytics.initialized) return window.analytics[method].apply(window.analytics, arguments);
      var args = Array.prototype.slice.call(arguments);
      if (["track", "screen", "alias", "group", "page", "identify"].indexOf(method) > -1) {
        var canonical = document.querySelector("link[rel='canonical']");
        args.push({ __t: "bpc", c: (canonical && canonical.getAttribute("href")) || undefined, p: location.pathname,
          u: location.href, s: location.search, t: document.title, r: document.referrer });
      }
      args.unshift(method);
      analytics.push(args);
      return analytics;
    };
  };
  for (var i = 0; i < analytics.methods.length; i++) analytics[analytics.methods[i]] = analytics.factory(analytics.methods[i]);
  analytics._writeKey = ${JSON.stringify(writeKey)};
  analytics._cdn = ${JSON.stringify(origin)};
})();
`;
}

/** This host's origin as the page sees it: the request's, with `X-Forwarded-Proto` when a proxy terminates TLS. */
export function publicOrigin(request: Request): string {
  const url = new URL(request.url);
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0].trim();
  const protocol = forwarded === "https" || forwarded === "http" ? `${forwarded}:` : url.protocol;
  return `${protocol}//${url.host}`;
}

const JS = { "content-type": "text/javascript; charset=utf-8" };

/** Adds analytics.js' script and chunks to `app`. */
export function mountAnalyticsJs(app: Hono): void {
  const script = describeRoute({
    summary: "analytics.js for a page: Segment's standalone bundle, sending to this host (one script tag)",
    contentType: "text/javascript",
    errors: [400],
  });
  app.get("/analytics.js/v1/:writeKey/analytics.min.js", script, (c) => {
    const writeKey = c.req.param("writeKey");
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(writeKey)) {
      throw new HttpError(
        400,
        `writeKey must be 1..256 letters, digits, '_', '.' or '-', got '${writeKey.slice(0, 64)}'`,
      );
    }
    // The prelude names the key and this host: cached briefly, unlike the versioned chunks.
    return c.body(prelude(writeKey, publicOrigin(c.req.raw)) + standalone, 200, {
      ...JS,
      "cache-control": "max-age=300",
    });
  });
  const chunk = describeRoute({
    summary: "A file of analytics.js (@segment/analytics-next's build), as its standalone bundle loads them",
    contentType: "text/javascript",
    errors: [404],
  });
  app.get("/analytics-next/bundles/:file", chunk, (c) => {
    const file = c.req.param("file");
    if (!Object.hasOwn(CHUNKS, file)) throw new HttpError(404, `no analytics.js file '${file.slice(0, 128)}'`);
    return c.body(CHUNKS[file], 200, { ...JS, "cache-control": "public, max-age=31536000, immutable" });
  });
}
