/**
 * Debian's Chromium for the browser suites (`.ci/run` installs it from apt), launched headless by playwright-core.
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Where apt puts Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether a browser suite should be skipped: Chromium missing here, outside CI (in CI its absence fails). */
export const noBrowser: boolean = !await Deno.stat(CHROMIUM).then(() => true, () => false) &&
  Deno.env.get("CI") !== "true";

/**
 * Chromium, headless and quiet (no background networking, no updates, no first-run pages). With `only127`, every
 * host name but 127.0.0.1 fails to resolve, so a page cannot reach any other host.
 */
export function launchChromium(opts: { only127?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      ...(opts.only127 ? ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"] : []),
    ],
  });
}
