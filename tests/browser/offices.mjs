// Browser checks of the officials' pages, in Debian's chromium driven by playwright-core, with axe.
// Run by tests/offices.rs against the demo federation it started, with Lahore inside a network namespace:
//   node offices.mjs '{"lahore":…,"punjab":…,"federal":…,"karachiSouth":…,"tokens":{…},"alert":…,"case":…,"offender":…,
//                      "cnic":…,"cut":[…],"heal":[…],"shots":…,"found":…,"photoAlert":…}'
// (`tokens` the demo's officials by key, `alert` a validated alert and `case` a complaint at Lahore, `offender` a
// register entry and `cnic` its CNIC, `cut` and `heal` the commands that take Lahore's peer-to-peer link down
// and up, `found` a found child's report at Lahore with a possible match with `photoAlert`, an alert with a
// photo).
// 1. Every role's pages, in English and Urdu, at 360 and 1280 px: the status, `lang` and `dir`, no serious or
//    critical axe violation, no request leaving the node, nothing overflowing sideways; a screenshot of each.
// 2. Each role signs in and acts, and sees the effect, with JavaScript off: the station raises an alert on a
//    caller's behalf, the DPO validates it and registers its FIR, the RPO drills down into Lahore, the IG records
//    a step at Punjab, the ministry reads the national dashboard, the register officer adds and finds an entry,
//    an institution verifies a CNIC, an auditor reads an alert's signed history, Karachi South's DPO opens
//    Lahore's alert by break-glass (a reason too short corrected first) and Lahore's DPO sees the use.
// 3. Live, with JavaScript on: a DPO page at Lahore and the IG's at Punjab open; an alert raised at Lahore
//    appears on both without a reload, and its validation at Lahore shows on Punjab's page.
// 4. Offline: Lahore cut off; its pages show the offline banner; an alert raised there in the browser waits;
//    healed, the banner goes and the alert reaches Punjab.
// Prints one line per check failed and exits 1 if any did.

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const config = JSON.parse(process.argv[2] ?? "{}");
const { lahore, punjab, federal, karachiSouth, tokens, alert, case: caseId, offender, cnic, cut, heal, shots, found, photoAlert } = config;
if (!lahore || !punjab || !federal || !karachiSouth || !tokens || !alert || !caseId || !offender || !cnic || !cut || !heal || !shots) {
  console.error("usage: node offices.mjs '<JSON: lahore, punjab, federal, karachiSouth, tokens, alert, case, offender, cnic, cut, heal, shots>'");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);
let flows = 0;

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

const languages = [
  { code: "en", dir: "ltr" },
  { code: "ur", dir: "rtl" },
];
const widths = [360, 1280];

/// A browser context for node `base`, whose every request is checked to stay on that node.
async function context(where, base, options = {}) {
  const origin = new URL(base).origin;
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

/// Signs the official `key` in on `page` at node `base` with the sign-in form.
async function signIn(page, base, key) {
  await page.goto(base + "/office/sign-in");
  await page.fill("#token", tokens[key]);
  await submit(page, "**/office", "main button[type=submit]");
}

/// An API call to a node as an official (from this script, not the browser).
async function api(base, key, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${tokens[key]}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/// `YYYY-MM-DDTHH:MM` in Pakistan Standard Time (UTC+5), `agoMs` before now, as the date-and-time fields take it.
const pkt = (agoMs) => new Date(Date.now() - agoMs + 5 * 3600_000).toISOString().slice(0, 16);

/// Submits a form by clicking `button` and waits for the page at `url`; when the node shows the form again
/// instead, the error is what it says is wrong.
async function submit(page, url, button) {
  try {
    await Promise.all([page.waitForURL(url, { timeout: 20_000 }), page.click(button)]);
  } catch (e) {
    const said = await page.locator(".error-summary, .field-error").allTextContents().catch(() => []);
    throw new Error(`${e.message.split("\n")[0]}; the page says: ${JSON.stringify(said)}`);
  }
}

/// Runs flow `where`, recording a failure rather than stopping when it throws.
async function flow(where, body) {
  try {
    await body();
  } catch (e) {
    fail(where, e.message.split("\n")[0]);
  }
  flows += 1;
}

/// Waits (up to `ms`) until `check` holds, polling every half second.
async function until(ms, check) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

// 1. Every role's pages.
const roles = [
  { key: "lahore/dpo", base: lahore, pages: ["/office", "/office/alerts", "/office/cases", `/office/alerts/${alert}`, `/office/cases/${caseId}`, "/office/raise", "/office/cases/new", "/office/node", "/office/found", "/office/found/new", `/office/found/${found}`, `/office/alerts/${photoAlert}`, "/office/break-glass"] },
  { key: "karachi-south/dpo", base: karachiSouth, pages: [`/office/alerts/${alert}`, "/office/break-glass"] },
  { key: "lahore", base: lahore, pages: ["/office"] },
  { key: "punjab/rpo/PB-LAHORE", base: punjab, pages: ["/office"] },
  { key: "punjab", base: punjab, pages: ["/office", "/office/alerts?district=PB-LHR"] },
  { key: "federal", base: federal, pages: ["/office", "/office/cases"] },
  { key: "federal/register_officer", base: federal, pages: ["/office", "/office/register/new", `/office/register/offenders/${offender}`, "/office/register/consultations"] },
  { key: "federal/verifier", base: federal, pages: ["/office"] },
  { key: "federal/auditor", base: federal, pages: ["/office", `/office/audit/history?record=${alert}`] },
];
let views = 0;
for (const role of roles) {
  for (const lang of languages) {
    for (const width of widths) {
      const where = `${role.key} ${lang.code} ${width}px`;
      const ctx = await context(where, role.base, {
        viewport: { width, height: 800 },
        locale: lang.code === "ur" ? "ur-PK" : "en-GB",
        extraHTTPHeaders: { "accept-language": lang.code === "ur" ? "ur-PK,ur;q=0.9" : "en-GB,en;q=0.9" },
      });
      const page = await ctx.newPage();
      await signIn(page, role.base, role.key);
      for (const path of role.pages) {
        const here = `${where} ${path}`;
        const response = await page.goto(role.base + path, { waitUntil: "load" });
        views += 1;
        if (response.status() !== 200) {
          fail(here, `status ${response.status()}`);
        }
        const found = await page.evaluate(() => ({
          lang: document.documentElement.lang,
          dir: document.documentElement.dir,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          desk: document.querySelectorAll(".desk form[action='/office/sign-out']").length,
        }));
        if (found.lang !== lang.code || found.dir !== lang.dir) {
          fail(here, `lang="${found.lang}" dir="${found.dir}"`);
        }
        if (found.overflow > 0) {
          fail(here, `the page is ${found.overflow} px wider than the window`);
        }
        if (found.desk !== 1) {
          fail(here, "no desk band with the sign-out form");
        }
        const axe = await new AxeBuilder({ page }).analyze();
        for (const v of axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
          fail(here, `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
        }
        const name = `${role.key.replaceAll("/", "-")}${path.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}-${lang.code}-${width}`;
        await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
      }
      await ctx.close();
    }
  }
}

/// A context with JavaScript off, as on a cheap phone, for node `base`, in `lang`.
const phone = (where, base, lang) =>
  context(where, base, {
    javaScriptEnabled: false,
    viewport: { width: 360, height: 800 },
    extraHTTPHeaders: { "accept-language": lang },
  });

// 2. Each role acts, with JavaScript off.
const child = `Desk ${Date.now() % 100000}`;
let raised = null;
await flow("station raises on a caller's behalf (ur)", async () => {
  const where = "station raises on a caller's behalf (ur)";
  const ctx = await phone(where, lahore, "ur");
  const page = await ctx.newPage();
  await signIn(page, lahore, "lahore");
  if (!(await page.textContent("h1")).includes("لاہور")) {
    fail(where, "the queue is not Lahore's");
  }
  await page.goto(lahore + "/office/raise");
  await page.selectOption("#channel", "helpline15");
  await page.fill("#child_name", child);
  await page.fill("#age_years", "6");
  await page.selectOption("#sex", "female");
  await page.fill("#description", "Red frock, a white hairband");
  await page.selectOption("#district", "PB-LHR");
  await page.fill("#place", "Liberty Market");
  await page.fill("#last_seen_at", pkt(3600_000));
  await page.fill("#name", "Shazia");
  await page.fill("#mobile", "0300 1234567");
  await page.fill("#police_notes", "Mother called 15 from the market");
  await submit(page, "**/office/alerts/*", "main button[type=submit]");
  raised = new URL(page.url()).pathname.split("/")[3];
  if (!(await page.textContent("h1")).includes(child)) {
    fail(where, "the new alert's page does not show the child");
  }
  await page.screenshot({ path: `${shots}/act-station-raise-ur-360.png`, fullPage: true });
  await ctx.close();
});
await flow("DPO validates and registers the FIR (en)", async () => {
  const where = "DPO validates and registers the FIR (en)";
  const ctx = await phone(where, lahore, "en");
  const page = await ctx.newPage();
  await signIn(page, lahore, "lahore/dpo");
  if (!(await page.textContent("#queue")).includes(child)) {
    fail(where, "the raised alert is not in the queue");
  }
  await page.goto(`${lahore}/office/alerts/${raised}`);
  await page.check("#step-validated");
  await submit(page, "**?done=validated*", "#step button[type=submit]");
  await page.check("#step-fir_registered");
  await page.fill("#fir_number", "FIR 417/2026 PS Gulberg");
  await submit(page, "**?done=fir_registered*", "#step button[type=submit]");
  const record = await page.textContent("#record");
  if (!record.includes("FIR 417/2026 PS Gulberg") || !record.includes("Mother called 15")) {
    fail(where, "the FIR's number or the police notes are not on the alert's page");
  }
  const got = await api(lahore, "lahore/dpo", "GET", `/api/v1/alerts/${raised}`);
  if (got.body?.status?.stage !== "validated") {
    fail(where, `the API says ${JSON.stringify(got.body?.status)}`);
  }
  await page.screenshot({ path: `${shots}/act-dpo-steps-en-360.png`, fullPage: true });
  await ctx.close();
});
// The steps reach Punjab before the offices there look.
if (!(await until(30_000, async () => (await api(punjab, "punjab", "GET", `/api/v1/alerts/${raised}`)).body?.status?.stage === "validated"))) {
  fail("sync", "the validated alert did not reach Punjab within 30 s");
}
await flow("RPO drills down into Lahore (ur)", async () => {
  const where = "RPO drills down into Lahore (ur)";
  const ctx = await phone(where, punjab, "ur");
  const page = await ctx.newPage();
  await signIn(page, punjab, "punjab/rpo/PB-LAHORE");
  const rows = await page.textContent("#area");
  if (!rows.includes("لاہور") || !rows.includes("قصور") || rows.includes("حیدرآباد")) {
    fail(where, "the region's districts are not exactly Lahore and Kasur");
  }
  await page.click("a[href='/office/alerts?district=PB-LHR']");
  if (!(await page.textContent("#alerts-list")).includes(child)) {
    fail(where, "the drill-down does not list the alert");
  }
  await ctx.close();
});
await flow("IG records a step at Punjab (en)", async () => {
  const where = "IG records a step at Punjab (en)";
  const ctx = await phone(where, punjab, "en");
  const page = await ctx.newPage();
  await signIn(page, punjab, "punjab");
  if (!(await page.textContent("h1")).includes("Punjab")) {
    fail(where, "the dashboard is not Punjab's");
  }
  await page.goto(`${punjab}/office/alerts/${raised}`);
  await page.check("#step-mobilised");
  await submit(page, "**?done=mobilised*", "#step button[type=submit]");
  const got = await api(punjab, "punjab", "GET", `/api/v1/alerts/${raised}`);
  if (got.body?.status?.stage !== "mobilised") {
    fail(where, `the API says ${JSON.stringify(got.body?.status)}`);
  }
  await ctx.close();
});
await flow("ministry reads the national dashboard (ur)", async () => {
  const where = "ministry reads the national dashboard (ur)";
  const ctx = await phone(where, federal, "ur");
  const page = await ctx.newPage();
  await signIn(page, federal, "federal");
  const charts = await page.locator("svg.chart-drawing").count();
  const map = await page.locator("svg.map-drawing").count();
  if (charts !== 2 || map !== 1) {
    fail(where, `${charts} charts and ${map} maps`);
  }
  await page.goto(federal + "/office/cases");
  if ((await page.locator(`a[href='/office/cases/${caseId}']`).count()) !== 1) {
    fail(where, "the national list of cases does not hold Lahore's complaint");
  }
  await ctx.close();
});
await flow("register officer adds and finds an entry (en)", async () => {
  const where = "register officer adds and finds an entry (en)";
  const ctx = await phone(where, federal, "en");
  const page = await ctx.newPage();
  await signIn(page, federal, "federal/register_officer");
  await page.goto(federal + "/office/register/new");
  await page.fill("#cnic", "42101-7777777-1");
  await page.fill("#name", "Imran Qureshi");
  await page.selectOption("#relation", "son_of");
  await page.fill("#parent", "Abdul Qureshi");
  await page.fill("#offence", "s.377-B PPC");
  await page.fill("#court", "Sessions Court Karachi South");
  await page.fill("#date", "2020-02-20");
  await page.fill("#sentence", "5 years");
  await page.fill("#address", "Block 7, Clifton");
  await page.selectOption("#district", "SD-KHS");
  await page.fill("#since", "2025-03-01");
  await submit(page, "**/office/register/offenders/*", "main form button[type=submit]");
  if (!(await page.textContent("main")).includes("4210177777771")) {
    fail(where, "the new entry's page does not show its CNIC");
  }
  await page.goto(federal + "/office");
  await page.fill("#cnic", "4210177777771");
  await submit(page, "**/office/register/offenders/*", "main form button[type=submit]");
  if (!(await page.textContent("h1")).includes("Imran Qureshi") || page.url().includes("42101")) {
    fail(where, "the search did not open the entry, or put the CNIC in the address");
  }
  await ctx.close();
});
await flow("institution verifies a CNIC (ur)", async () => {
  const where = "institution verifies a CNIC (ur)";
  const ctx = await phone(where, federal, "ur");
  const page = await ctx.newPage();
  await signIn(page, federal, "federal/verifier");
  await page.fill("#cnic", cnic);
  await Promise.all([page.waitForResponse((r) => r.url().endsWith("/office/verify")), page.click("main form button[type=submit]")]);
  await page.waitForLoadState("load");
  if (!(await page.textContent(".panel")).includes("رجسٹر میں ہے۔")) {
    fail(where, "no answer that the CNIC is on the register");
  }
  await ctx.close();
});
await flow("auditor reads a signed history (en)", async () => {
  const where = "auditor reads a signed history (en)";
  const ctx = await phone(where, federal, "en");
  const page = await ctx.newPage();
  await signIn(page, federal, "federal/auditor");
  await page.fill("#record", raised);
  await submit(page, "**/office/audit/history?record=*", "main form button[type=submit]");
  const text = await page.textContent("main");
  for (const who of ["station_officer:demo station_officer lahore", "dpo:demo dpo lahore", "ig:demo ig punjab"]) {
    if (!text.includes(who)) {
      fail(where, `the history does not show ${who}`);
    }
  }
  await ctx.close();
});

await flow("Karachi South's DPO opens Lahore's alert by break-glass (ur)", async () => {
  const where = "Karachi South's DPO opens Lahore's alert by break-glass (ur)";
  const ctx = await phone(where, karachiSouth, "ur");
  const page = await ctx.newPage();
  await signIn(page, karachiSouth, "karachi-south/dpo");
  const alertPage = `${karachiSouth}/office/alerts/${alert}`;
  await page.goto(alertPage);
  if ((await page.textContent("main")).includes("3001234567")) {
    fail(where, "the reporter's number shows before break-glass");
  }
  // Too short a reason: the form comes back saying so, in Urdu.
  await page.fill("#reason", "ضروری");
  await page.click("#break-glass button[type=submit]");
  await page.waitForSelector(".error-summary");
  if (!(await page.textContent(".error-summary")).includes("20 سے 500")) {
    fail(where, "no Urdu error for a short reason");
  }
  const reason = `Saddar thane mein aik bacha hai jo Anarkali Lahore ka batata hai ${Date.now() % 100000}`;
  await page.fill("#reason", reason);
  await page.fill("#minutes", "10");
  await submit(page, alertPage, "#break-glass button[type=submit]");
  const text = await page.textContent("main");
  if (!text.includes("3001234567") || !text.includes("ہنگامی رسائی")) {
    fail(where, "the alert's restricted part, or until when, does not show after break-glass");
  }
  await ctx.close();
  // Lahore's DPO sees it on their queue once the use's entry arrives.
  const dpo = await phone(where, lahore, "en");
  const queue = await dpo.newPage();
  await signIn(queue, lahore, "lahore/dpo");
  const seen = await until(30_000, async () => {
    await queue.goto(lahore + "/office");
    return (await queue.textContent("main")).includes(reason);
  });
  if (!seen) {
    fail(where, "Lahore's DPO does not see the use on their queue");
  }
  await dpo.close();
});

// 3. Live across nodes, with JavaScript on.
await flow("live across nodes", async () => {
  const where = "live across nodes";
  const dpoCtx = await context(`${where} (Lahore)`, lahore, { viewport: { width: 1280, height: 900 } });
  const igCtx = await context(`${where} (Punjab)`, punjab, { viewport: { width: 1280, height: 900 } });
  const dpoPage = await dpoCtx.newPage();
  const igPage = await igCtx.newPage();
  await signIn(dpoPage, lahore, "lahore/dpo");
  await signIn(igPage, punjab, "punjab");
  const streams = [dpoPage, igPage].map((p) =>
    p.waitForResponse((r) => r.url().includes("/office/events"), { timeout: 30_000 }),
  );
  await dpoPage.goto(lahore + "/office");
  await igPage.goto(punjab + "/office/alerts");
  await Promise.all(streams).catch((e) => fail(where, `a live stream did not open: ${e.message.split("\n")[0]}`));
  for (const p of [dpoPage, igPage]) {
    await p.evaluate(() => {
      window.notReloaded = true;
    });
  }
  const live = `Live ${Date.now() % 100000}`;
  const body = {
    child_name: live,
    age_years: 9,
    sex: "male",
    description: "Grey school uniform",
    last_seen: { district: "PB-LHR", lat: 31.52, lon: 74.35, text: "Gulberg main boulevard" },
    last_seen_at_ms: Date.now() - 1800_000,
    reporter: { name: "Father", mobile: "03011234567" },
    channel: "police_station",
  };
  const made = await api(lahore, "lahore/dpo", "POST", "/api/v1/alerts", body);
  if (made.status !== 201) {
    fail(where, `Lahore did not raise it: ${made.status}`);
  } else {
    const shows = (p, region, text) =>
      p.waitForFunction(([r, t]) => document.getElementById(r)?.textContent.includes(t), [region, text], { timeout: 60_000 });
    try {
      await shows(dpoPage, "queue", live);
      await shows(igPage, "alerts-list", live);
    } catch (e) {
      fail(where, `the new alert did not appear on both pages within 60 s: ${e.message.split("\n")[0]}`);
    }
    await api(lahore, "lahore/dpo", "POST", `/api/v1/alerts/${made.body.id}/events`, { type: "validated" });
    try {
      // Its row at Punjab turns to validated.
      await igPage.waitForFunction(
        (id) => {
          const link = document.querySelector(`#alerts-list a[href='/office/alerts/${id}']`);
          return link && link.closest("tr").textContent.includes("Confirmed by the police");
        },
        made.body.id,
        { timeout: 60_000 },
      );
    } catch (e) {
      fail(where, `the validation did not show at Punjab within 60 s: ${e.message.split("\n")[0]}`);
    }
    for (const [name, p] of [["Lahore", dpoPage], ["Punjab", igPage]]) {
      if (!(await p.evaluate(() => window.notReloaded === true))) {
        fail(where, `the page at ${name} was reloaded`);
      }
    }
  }
  await dpoPage.screenshot({ path: `${shots}/live-lahore-dpo-en-1280.png`, fullPage: true });
  await igPage.screenshot({ path: `${shots}/live-punjab-ig-en-1280.png`, fullPage: true });
  await dpoCtx.close();
  await igCtx.close();
});

// 4. Offline: Lahore cut off, work there, heal.
await flow("offline at Lahore", async () => {
  const where = "offline at Lahore";
  const ctx = await context(where, lahore, { viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, lahore, "lahore/dpo");
  if ((await page.locator("#desk-banner .banner").count()) !== 0) {
    fail(where, "the offline banner shows before the cut");
  }
  execFileSync(cut[0], cut.slice(1));
  try {
    // The node notices within its silence limit; the page asks again every 20 s.
    await page.waitForSelector("#desk-banner .banner", { timeout: 60_000 });
  } catch (e) {
    fail(where, `no offline banner within 60 s of the cut: ${e.message.split("\n")[0]}`);
  }
  const away = `Offline ${Date.now() % 100000}`;
  await page.goto(lahore + "/office/raise");
  await page.selectOption("#channel", "police_station");
  await page.fill("#child_name", away);
  await page.fill("#age_years", "4");
  await page.selectOption("#sex", "male");
  await page.fill("#description", "Blue shorts, barefoot");
  await page.selectOption("#district", "PB-LHR");
  await page.fill("#place", "Data Darbar");
  await page.fill("#last_seen_at", pkt(1800_000));
  await page.fill("#name", "Grandmother");
  await page.fill("#mobile", "0333 7654321");
  await submit(page, "**/office/alerts/*", "main button[type=submit]");
  const offlineId = new URL(page.url()).pathname.split("/")[3];
  const banner = (await page.textContent("#desk-banner")) ?? "";
  if (!/[1-9]/.test(banner) || !banner.includes("punjab")) {
    fail(where, `the banner does not count changes waiting for punjab: ${JSON.stringify(banner.trim())}`);
  }
  await page.screenshot({ path: `${shots}/offline-lahore-dpo-en-1280.png`, fullPage: true });
  if ((await api(punjab, "punjab", "GET", `/api/v1/alerts/${offlineId}`)).status !== 404) {
    fail(where, "the alert raised while cut off is at Punjab already: the cut is not real");
  }
  execFileSync(heal[0], heal.slice(1));
  await page.goto(lahore + "/office");
  try {
    await page.waitForFunction(() => !document.querySelector("#desk-banner .banner"), null, { timeout: 90_000 });
  } catch (e) {
    fail(where, `the banner did not go within 90 s of the heal: ${e.message.split("\n")[0]}`);
  }
  if (!(await until(60_000, async () => (await api(punjab, "punjab", "GET", `/api/v1/alerts/${offlineId}`)).status === 200))) {
    fail(where, "the alert raised while cut off did not reach Punjab within 60 s of the heal");
  }
  await ctx.close();
});

await browser.close();
for (const f of failures) {
  console.log(`FAIL ${f}`);
}
console.log(`${views} page views and ${flows} flows checked, ${failures.length} failures`);
process.exit(failures.length === 0 ? 0 : 1);
