// Browser checks of a node's public pages, in Debian's chromium driven by playwright-core, with axe.
// Run by tests/browser.rs against a node it started:
//   node pages.mjs <base url> <alert id> <tracking code> <screenshot dir>
// For every page, in English and Urdu, at 360 and 1280 px: the answer's status, `lang` and `dir`; no serious or
// critical axe violation; no request leaving the node (every request is intercepted and checked); nothing
// overflowing sideways; no heading clipped; in Urdu the Nastaliq font loaded and the layout mirrored. Then flows
// with JavaScript off: file an anonymous complaint, note its code, track it; report a sighting of the alert. Prints
// one line per check failed and exits 1 if any did; writes a screenshot of each page in each language and width.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const [base, alertId, trackingCode, shots] = process.argv.slice(2);
if (!base || !alertId || !trackingCode || !shots) {
  console.error("usage: node pages.mjs <base url> <alert id> <tracking code> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(base).origin;

const pages = [
  { name: "home", path: "/", status: 200 },
  { name: "alert", path: `/alerts/${alertId}`, status: 200 },
  { name: "track", path: "/track", status: 200 },
  { name: "tracked", path: `/track?code=${trackingCode}`, status: 200 },
  { name: "track-error", path: "/track?code=HZ-12", status: 422 },
  { name: "complaint", path: "/complaint", status: 200 },
  { name: "statistics", path: "/statistics", status: 200 },
  { name: "statistics-error", path: "/statistics?month=2026-13", status: 422 },
  { name: "not-found", path: "/no/such/page", status: 404 },
];
const languages = [
  { code: "en", dir: "ltr" },
  { code: "ur", dir: "rtl" },
];
const widths = [360, 1280];

const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);

const browser = await chromium.launch({
  executablePath: process.env.HIFAZAT_CHROMIUM ?? "/usr/bin/chromium",
  // Nothing but the node: no background networking, updates, sync or QUIC.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
  ],
});

/// A browser context whose every request is checked to stay on the node; requests elsewhere are aborted and
/// reported.
async function context(where, options) {
  const ctx = await browser.newContext(options);
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || new URL(url).origin === origin) {
      return route.continue();
    }
    fail(where, `a request left the node: ${url}`);
    return route.abort();
  });
  return ctx;
}

for (const lang of languages) {
  for (const width of widths) {
    const ctx = await context(`${lang.code} ${width}px`, {
      viewport: { width, height: 800 },
      locale: lang.code === "ur" ? "ur-PK" : "en-GB",
      extraHTTPHeaders: { "accept-language": lang.code === "ur" ? "ur-PK,ur;q=0.9" : "en-GB,en;q=0.9" },
    });
    for (const spec of pages) {
      const where = `${spec.name} ${lang.code} ${width}px`;
      const page = await ctx.newPage();
      const response = await page.goto(base + spec.path, { waitUntil: "load" });
      if (response.status() !== spec.status) {
        fail(where, `status ${response.status()}, expected ${spec.status}`);
      }
      const found = await page.evaluate(() => ({
        lang: document.documentElement.lang,
        dir: document.documentElement.dir,
      }));
      if (found.lang !== lang.code || found.dir !== lang.dir) {
        fail(where, `lang="${found.lang}" dir="${found.dir}"`);
      }
      await page.evaluate(() => document.fonts.ready);
      const layout = await page.evaluate(() => {
        const clipped = [...document.querySelectorAll("h1, h2, h3")]
          .filter((h) => h.scrollHeight > h.clientHeight + 1 || h.scrollWidth > h.clientWidth + 1)
          .map((h) => h.textContent.trim());
        const brand = document.querySelector(".brand").getBoundingClientRect();
        const nastaliq = [...document.fonts].some(
          (f) => f.family.replace(/"/g, "") === "Noto Nastaliq Urdu" && f.status === "loaded",
        );
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          clipped,
          brandCentre: (brand.left + brand.right) / 2,
          width: window.innerWidth,
          nastaliq,
        };
      });
      if (layout.overflow > 0) {
        fail(where, `the page is ${layout.overflow} px wider than the window`);
      }
      if (layout.clipped.length > 0) {
        fail(where, `headings clipped: ${JSON.stringify(layout.clipped)}`);
      }
      // Mirrored: the brand leads the header, at the start of the line: the left in English, the right in Urdu.
      const atStart = lang.dir === "rtl" ? layout.brandCentre > layout.width / 2 : layout.brandCentre < layout.width / 2;
      if (!atStart) {
        fail(where, `the header's brand is not at the ${lang.dir === "rtl" ? "right" : "left"}`);
      }
      if (lang.code === "ur" && !layout.nastaliq) {
        fail(where, "the Noto Nastaliq Urdu font is not loaded");
      }
      const axe = await new AxeBuilder({ page }).analyze();
      for (const v of axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
        fail(where, `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
      }
      await page.screenshot({ path: `${shots}/${spec.name}-${lang.code}-${width}.png`, fullPage: true });
      await page.close();
    }
    await ctx.close();
  }
}

// With JavaScript off, as on a cheap phone: file an anonymous complaint, keep its code, and track it.
for (const lang of languages) {
  const where = `complaint flow ${lang.code}, JavaScript off`;
  const ctx = await context(where, {
    javaScriptEnabled: false,
    viewport: { width: 360, height: 800 },
    extraHTTPHeaders: { "accept-language": lang.code },
  });
  const page = await ctx.newPage();
  await page.goto(base + "/complaint");
  await page.selectOption("#category", "domestic_violence");
  await page.fill("#description", "A neighbour hears beatings every night");
  await page.check("#anonymous-yes");
  await Promise.all([page.waitForURL("**/complaint/filed"), page.click("button[type=submit]")]);
  const code = (await page.textContent(".code")).trim();
  if (!/^HZ-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code)) {
    fail(where, `no tracking code on the filed page: ${JSON.stringify(code)}`);
  }
  await page.screenshot({ path: `${shots}/filed-${lang.code}-360.png`, fullPage: true });
  // The code is shown once: the same page again shows it no more.
  await page.goto(base + "/complaint/filed");
  if (!page.url().endsWith("/track")) {
    fail(where, `the filed page showed again: ${page.url()}`);
  }
  await page.fill("#code", code);
  await Promise.all([page.waitForURL("**/track?code=*"), page.click("button[type=submit]")]);
  const found = await page.textContent("#found-title");
  if (!found || !found.includes(code)) {
    fail(where, `tracking ${code} did not find it: ${JSON.stringify(found)}`);
  }
  await ctx.close();
}

// With JavaScript off: report a sighting of the alert, anonymously, and be thanked.
for (const lang of languages) {
  const where = `sighting flow ${lang.code}, JavaScript off`;
  const ctx = await context(where, {
    javaScriptEnabled: false,
    viewport: { width: 360, height: 800 },
    extraHTTPHeaders: { "accept-language": lang.code },
  });
  const page = await ctx.newPage();
  await page.goto(`${base}/alerts/${alertId}`);
  // An hour ago, in Pakistan Standard Time (UTC+5), as the date-and-time field takes it.
  const seen = new Date(Date.now() - 3600_000 + 5 * 3600_000).toISOString().slice(0, 16);
  await page.fill("#seen_at", seen);
  await page.fill("#description", "Outside the railway station, holding a man's hand");
  await page.check("#anonymous-yes");
  await Promise.all([page.waitForURL(`**/alerts/${alertId}?sent=1*`), page.click("#sighting button[type=submit]")]);
  if ((await page.locator("#sighting .panel[role=status]").count()) !== 1) {
    fail(where, "no thanks after the report");
  }
  await page.screenshot({ path: `${shots}/sighted-${lang.code}-360.png`, fullPage: true });
  await ctx.close();
}

await browser.close();
for (const f of failures) {
  console.log(`FAIL ${f}`);
}
console.log(`${pages.length * languages.length * widths.length} page views and ${2 * languages.length} flows checked, ${failures.length} failures`);
process.exit(failures.length === 0 ? 0 : 1);
