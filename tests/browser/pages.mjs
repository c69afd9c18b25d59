// Browser checks of a node's public pages, in Debian's chromium driven by playwright-core, with axe.
// Run by tests/browser.rs against the demo federation it started:
//   node pages.mjs '{"base":…,"token":…,"alert":…,"code":…,"other":{"base":…,"token":…},"shots":…}'
// (`base` the node whose pages are checked, `token` an officer of its district, `alert` a validated alert there,
// `code` a complaint's tracking code, `other` another node of the federation and an officer of its district).
// For every page, in English and Urdu, at 360 and 1280 px: the answer's status, `lang` and `dir`; no serious or
// critical axe violation; no request leaving the node (every request is intercepted and checked); nothing
// overflowing sideways; no heading clipped; in Urdu the Nastaliq font loaded and the layout mirrored. Then flows
// with JavaScript off: raise an alert with the form and, once the police validate it, find it listed; file an
// anonymous complaint, note its code, track it; report a sighting of the alert; sign in as an official, see the
// office, sign out. And with JavaScript on: an alert raised at the other node appears on an open home page
// without a reload. Prints one line per check failed and exits 1 if any did; writes a screenshot of each page in
// each language and width.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const config = JSON.parse(process.argv[2] ?? "{}");
const { base, token, alert: alertId, code: trackingCode, other, shots } = config;
if (!base || !token || !alertId || !trackingCode || !other?.base || !other?.token || !shots) {
  console.error("usage: node pages.mjs '<JSON: base, token, alert, code, other {base, token}, shots>'");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(base).origin;

const pages = [
  { name: "home", path: "/", status: 200 },
  { name: "alert", path: `/alerts/${alertId}`, status: 200 },
  { name: "poster", path: `/alerts/${alertId}/poster`, status: 200 },
  { name: "raise", path: "/raise", status: 200 },
  { name: "track", path: "/track", status: 200 },
  { name: "tracked", path: `/track?code=${trackingCode}`, status: 200 },
  { name: "track-error", path: "/track?code=HZ-12", status: 422 },
  { name: "complaint", path: "/complaint", status: 200 },
  { name: "statistics", path: "/statistics", status: 200 },
  { name: "statistics-alerts", path: "/statistics?map=alerts", status: 200 },
  { name: "status", path: "/status", status: 200 },
  { name: "sign-in", path: "/office/sign-in", status: 200 },
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
      if (spec.name === "statistics") {
        // The map is drawn: seven areas, Punjab (seven complaints) the darkest, Lahore's headquarters a point.
        const map = await page.evaluate(() => ({
          areas: document.querySelectorAll("#map path.area").length,
          darkest: document.querySelectorAll("#map path.area.shade-4").length,
          points: document.querySelectorAll("#map circle.point").length,
          height: document.querySelector("#map svg").getBoundingClientRect().height,
        }));
        if (map.areas !== 7 || map.darkest !== 1 || map.points < 1 || map.height < 100) {
          fail(where, `the map is not drawn as expected: ${JSON.stringify(map)}`);
        }
        await page.locator("#map").screenshot({ path: `${shots}/map-${lang.code}-${width}.png` });
      }
      await page.screenshot({ path: `${shots}/${spec.name}-${lang.code}-${width}.png`, fullPage: true });
      await page.close();
    }
    await ctx.close();
  }
}

/// An API call to a node of the federation as an officer (from this script, not the browser).
async function api(node, officer, method, path, body) {
  const response = await fetch(node + path, {
    method,
    headers: { "authorization": `Bearer ${officer}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/// `YYYY-MM-DDTHH:MM` in Pakistan Standard Time (UTC+5), `agoMs` before now, as the date-and-time fields take it.
const pkt = (agoMs) => new Date(Date.now() - agoMs + 5 * 3600_000).toISOString().slice(0, 16);

// With JavaScript off, as on a cheap phone: raise an alert with the form; once the police validate it, it is
// listed on the home page.
for (const lang of languages) {
  const where = `raise flow ${lang.code}, JavaScript off`;
  const ctx = await context(where, {
    javaScriptEnabled: false,
    viewport: { width: 360, height: 800 },
    extraHTTPHeaders: { "accept-language": lang.code },
  });
  const page = await ctx.newPage();
  const child = `Raised ${lang.code} ${Date.now() % 100000}`;
  await page.goto(base + "/raise");
  // First with the age left out: the page says so beside the field, and keeps what was typed.
  await page.fill("#child_name", child);
  await page.selectOption("#sex", "male");
  await page.fill("#description", "Blue school uniform, a red bag");
  await page.selectOption("#district", "PB-LHR");
  await page.fill("#place", "Outside the Lahore Museum");
  await page.fill("#last_seen_at", pkt(2 * 3600_000));
  await page.fill("#name", "Farzana");
  await page.fill("#mobile", "0321 7654329");
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/raise")),
    page.click("button[type=submit]"),
  ]);
  await page.waitForLoadState("load");
  if ((await page.locator("#age_years-error").count()) !== 1) {
    fail(where, "no error beside the missing age");
  }
  if ((await page.inputValue("#child_name")) !== child) {
    fail(where, "the child's name was not kept");
  }
  await page.screenshot({ path: `${shots}/raise-error-${lang.code}-360.png`, fullPage: true });
  await page.fill("#age_years", "8");
  await Promise.all([page.waitForURL("**/alerts/*?raised=1"), page.click("button[type=submit]")]);
  if ((await page.locator(".panel[role=status]").count()) !== 1) {
    fail(where, "no thanks after raising");
  }
  const raised = new URL(page.url()).pathname.split("/")[2];
  await page.screenshot({ path: `${shots}/raised-${lang.code}-360.png`, fullPage: true });
  // Not listed before the police validate it; listed after.
  await page.goto(base + "/");
  if ((await page.textContent("#alerts")).includes(child)) {
    fail(where, "listed before the police validated it");
  }
  const validated = await api(base, token, "POST", `/api/v1/alerts/${raised}/events`, { type: "validated" });
  if (validated.status !== 201) {
    fail(where, `the police could not validate it: ${validated.status} ${JSON.stringify(validated.body)}`);
  }
  await page.goto(base + "/");
  if (!(await page.textContent("#alerts")).includes(child)) {
    fail(where, "not listed after the police validated it");
  }
  await ctx.close();
}

// With JavaScript on: an open home page shows an alert raised and validated at another node, without a reload.
{
  const where = "live home page";
  const ctx = await context(where, { viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const stream = page.waitForResponse((r) => r.url().includes("/api/v1/events"), { timeout: 30_000 });
  await page.goto(base + "/");
  await stream;
  await page.evaluate(() => {
    window.notReloaded = true;
  });
  const child = `From the other node ${Date.now() % 100000}`;
  const body = {
    child_name: child,
    age_years: 6,
    sex: "female",
    description: "Yellow frock",
    last_seen: { district: "PB-KSR", lat: 31.1187, lon: 74.4508, text: "Kasur bus stand" },
    last_seen_at_ms: Date.now() - 3600_000,
    reporter: { name: "Parent", mobile: "03001234567" },
    channel: "helpline15",
  };
  const raised = await api(other.base, other.token, "POST", "/api/v1/alerts", body);
  if (raised.status !== 201) {
    fail(where, `the other node did not raise it: ${raised.status} ${JSON.stringify(raised.body)}`);
  } else {
    const validated = await api(other.base, other.token, "POST", `/api/v1/alerts/${raised.body.id}/events`, {
      type: "validated",
    });
    if (validated.status !== 201) {
      fail(where, `the other node did not validate it: ${validated.status}`);
    }
    try {
      await page.waitForFunction((name) => document.getElementById("alerts").textContent.includes(name), child, {
        timeout: 60_000,
      });
      if (!(await page.evaluate(() => window.notReloaded === true))) {
        fail(where, "the page was reloaded");
      }
      if (!(await page.textContent("#alerts-status")).trim()) {
        fail(where, "the update was not announced");
      }
    } catch (e) {
      fail(where, `the alert from the other node did not appear within 60 s: ${e.message.split("\n")[0]}`);
    }
  }
  await page.screenshot({ path: `${shots}/live-en-1280.png`, fullPage: true });
  await ctx.close();
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
  if (!/^HZ-([0-9A-Z]{4}-){3}[0-9A-Z]{4}$/.test(code)) {
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
  await page.fill("#seen_at", pkt(3600_000));
  await page.fill("#description", "Outside the railway station, holding a man's hand");
  await page.check("#anonymous-yes");
  await Promise.all([page.waitForURL(`**/alerts/${alertId}?sent=1*`), page.click("#sighting button[type=submit]")]);
  if ((await page.locator("#sighting .panel[role=status]").count()) !== 1) {
    fail(where, "no thanks after the report");
  }
  await page.screenshot({ path: `${shots}/sighted-${lang.code}-360.png`, fullPage: true });
  await ctx.close();
}

// With JavaScript off: an official signs in with their token (a wrong one first), sees who is signed in on their
// first page, and signs out; the session's cookie is HttpOnly and SameSite=Strict.
for (const lang of languages) {
  const where = `sign-in flow ${lang.code}, JavaScript off`;
  const ctx = await context(where, {
    javaScriptEnabled: false,
    viewport: { width: 360, height: 800 },
    extraHTTPHeaders: { "accept-language": lang.code },
  });
  const page = await ctx.newPage();
  await page.goto(base + "/office");
  if (!page.url().endsWith("/office/sign-in")) {
    fail(where, `not sent to sign in: ${page.url()}`);
  }
  await page.fill("#token", "hz_" + "0".repeat(64));
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/office/sign-in")),
    page.click("button[type=submit]"),
  ]);
  await page.waitForLoadState("load");
  if ((await page.locator("#token-error").count()) !== 1) {
    fail(where, "no error beside a token the node does not know");
  }
  await page.fill("#token", token);
  await Promise.all([page.waitForURL("**/office"), page.click("button[type=submit]")]);
  if (!(await page.textContent(".desk-who")).includes("demo")) {
    fail(where, "the office does not say who is signed in");
  }
  const session = (await ctx.cookies()).find((c) => c.name === "hz_session");
  if (!session || !session.httpOnly || session.sameSite !== "Strict") {
    fail(where, `the session cookie is not HttpOnly and SameSite=Strict: ${JSON.stringify(session)}`);
  }
  await page.screenshot({ path: `${shots}/office-${lang.code}-360.png`, fullPage: true });
  await Promise.all([page.waitForURL("**/office/sign-in"), page.click("form[action='/office/sign-out'] button")]);
  await page.goto(base + "/office");
  if (!page.url().endsWith("/office/sign-in")) {
    fail(where, "still signed in after signing out");
  }
  await ctx.close();
}

await browser.close();
for (const f of failures) {
  console.log(`FAIL ${f}`);
}
console.log(
  `${pages.length * languages.length * widths.length} page views and ${4 * languages.length + 1} flows checked, ${failures.length} failures`,
);
process.exit(failures.length === 0 ? 0 : 1);
