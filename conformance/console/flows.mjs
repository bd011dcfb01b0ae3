// The operator console's flows in the system Chromium, driven by playwright-core; run by
// run.sh, which starts scimd and the Graph fake and passes their addresses in the
// environment. Each step prints one line; the first failure stops the run (exit 1).
//
// Screenshots of each main page (laptop width, and the people page at phone width) go to
// $SCREENSHOTS. axe-core checks each main page; a serious or critical violation fails the
// run. A Content-Security-Policy violation on any page fails it too.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const BASE = process.env.CONSOLE_URL;
const ADMIN_KEY = process.env.ADMIN_KEY;
const DB_URL = process.env.DB_URL;
const SHOTS = process.env.SCREENSHOTS;
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step} - ${what}`);
}
function check(cond, what) {
  if (!cond) {
    throw new Error(`not ok: ${what}`);
  }
}

async function api(method, path, body, token = ADMIN_KEY) {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": path.startsWith("/scim/") ? "application/scim+json" : "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${path}: ${res.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

function sql(query) {
  return execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", DB_URL, "-c", query], {
    encoding: "utf8",
  }).trim();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: LAPTOP });
const page = await context.newPage();
const cspViolations = [];
page.on("console", (msg) => {
  if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
    cspViolations.push(`${page.url()}: ${msg.text()}`);
  }
});
const mainPages = [];
// A screenshot of the page; `axe`: the page can be loaded again by its URL (not the answer
// to a form), and axe-core checks it at the end.
async function shot(name, axe = true) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  if (axe) {
    mainPages.push({ name, url: page.url() });
  }
}
async function count(tab) {
  return Number(await page.locator(`[data-tab="${tab}"] .count`).innerText());
}

try {
  // Sign in with a wrong key, then the right one.
  await page.goto(`${BASE}/console`);
  check(page.url().endsWith("/console/sign-in"), "without a session the console asks to sign in");
  await shot("sign-in");
  await page.fill("#key", "scimd_wrongkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await page.click("button:has-text('Sign in')");
  check(await page.locator("#sign-in-error").isVisible(), "a wrong key is refused");
  ok("a wrong key is refused on the sign-in page");
  await page.fill("#key", ADMIN_KEY);
  await page.click("button:has-text('Sign in')");
  await page.waitForURL(`${BASE}/console`);
  check(await page.locator("h1:has-text('Tenants')").isVisible(), "the tenants page after sign-in");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "scimd_console");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  ok("the right key signs in");

  // A form whose anti-forgery token was tampered with is refused, and changes nothing.
  await page.fill("#new-slug", "forged");
  await page.evaluate(() => {
    document.querySelectorAll("input[name='csrf']").forEach((i) => (i.value = "forged"));
  });
  await page.click("button:has-text('Create tenant')");
  check(await page.locator("h1:has-text('Refused')").isVisible(), "a forged form is refused");
  const forged = await fetch(`${BASE}/admin/v1/tenants/forged`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  check(forged.status === 404, "the forged form created nothing");
  await page.goto(`${BASE}/console`);
  ok("a form with a wrong anti-forgery token is refused and changes nothing");

  // Create a tenant, issue a token and see it once.
  await page.fill("#new-slug", "acme");
  await page.fill("#new-name", "Acme Corp");
  await page.click("button:has-text('Create tenant')");
  await page.waitForURL(/\/console\/t\/acme/);
  check(await page.locator("text=Tenant created.").isVisible(), "a notice says the tenant was made");
  ok("a tenant is created from the tenants page");
  await page.click("nav.tabs >> text=Connection");
  await page.fill("#token-label", "Entra provisioning");
  await page.click("button:has-text('Issue token')");
  const token = await page.inputValue("#new-token");
  check(/^scimd_[A-Za-z0-9]+_\S+$/.test(token), `a token is shown (${token.slice(0, 12)}…)`);
  check(!page.url().includes(token), "the token is not in the URL");
  await shot("connection-token-issued", false);
  await page.goto(`${BASE}/console/t/acme/connection`);
  check((await page.content()).indexOf(token) === -1, "the token is not shown again");
  check(await page.locator("#tokens >> text=Entra provisioning").isVisible(), "the token is listed by its label");
  ok("a token is issued, shown once, and listed without its secret");

  // Connect links: create, shown once with a copy button, listed, revoked.
  await page.selectOption("#link-provider", "graph");
  await page.click("button:has-text('Create connect link')");
  const link = await page.inputValue("#new-link");
  check(link.startsWith(`${BASE}/connect/`), `a connect link is shown (${link.slice(0, 40)}…)`);
  check(!page.url().includes(link), "the link is not in the page's URL");
  await page.goto(`${BASE}/console/t/acme/connection`);
  check((await page.content()).indexOf(link) === -1, "the link is not shown again");
  await page.click("button:has-text('Revoke') >> nth=-1");
  check(await page.locator("text=Connect link revoked.").isVisible(), "the link is revoked");
  const opened = await fetch(link);
  check(opened.status === 410 && /withdrawn/.test(await opened.text()), "the link's page says it was withdrawn");
  ok("a connect link is made, shown once, and revoked");
  await shot("connection");

  // SCIM-create people through the API and see them listed with the right counts.
  const ids = [];
  for (const name of ["ann", "bob", "cat", "dan", "eve"]) {
    const user = await api(
      "POST",
      "/scim/v2/Users",
      {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        userName: `${name}@acme.example`,
        active: true,
        name: { givenName: name, familyName: "Example" },
        displayName: `${name[0].toUpperCase()}${name.slice(1)} Example`,
        emails: [{ value: `${name}@acme.example`, type: "work", primary: true }],
      },
      token,
    );
    ids.push(user.id);
  }
  await page.goto(`${BASE}/console/t/acme`);
  check((await count("participating")) === 5, "5 participating");
  check((await page.locator("input[name='id']").count()) === 5, "5 people listed");
  check(await page.locator("text=eve@acme.example").isVisible(), "people listed by email");
  ok("people pushed over SCIM are listed with their counts");
  await shot("people");

  // Deactivate two from the list and see the counts change.
  await page.check(`input[name='id'][value='${ids[0]}']`);
  await page.check(`input[name='id'][value='${ids[1]}']`);
  await page.click("button:has-text('Deactivate selected')");
  await page.waitForURL(/notice=deactivated/);
  check(await page.locator("text=2 people deactivated.").isVisible(), "the notice counts two");
  check((await count("participating")) === 3, "3 participating after");
  check((await count("deactivated")) === 2, "2 deactivated after");
  ok("deactivating two from the list changes the counts");

  // A person's page.
  await page.goto(`${BASE}/console/t/acme/people/${ids[0]}`);
  check(await page.locator("text=user.excluded").first().isVisible(), "the history shows the deactivation");
  await shot("person");
  ok("a person's page shows their data and history");

  // Sleep a group.
  const group = await api(
    "POST",
    "/scim/v2/Groups",
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "Contractors",
      members: [{ value: ids[2] }, { value: ids[3] }],
    },
    token,
  );
  await page.goto(`${BASE}/console/t/acme/groups`);
  await shot("groups");
  await page.click("text=Exclude…");
  await page.waitForURL(new RegExp(`/groups/${group.id}$`));
  const effect = await page.locator("#group-effect").innerText();
  check(effect.includes("2 people"), `the confirmation says how many (${effect})`);
  await shot("group-confirm");
  await page.click("button:has-text('Exclude the group')");
  await page.waitForURL(/notice=excluded/);
  await page.goto(`${BASE}/console/t/acme`);
  check((await count("participating")) === 1, "1 participating after sleeping the group");
  check((await count("excluded")) === 2, "2 excluded");
  ok("sleeping a group says how many it affects and takes them out");

  // A CSV dry run with a bad row, then a clean import.
  await page.goto(`${BASE}/console`);
  await page.fill("#new-slug", "csvco");
  await page.click("button:has-text('Create tenant')");
  await page.waitForURL(/\/console\/t\/csvco/);
  await page.click("nav.tabs >> text=Import");
  const bad = "email,given_name,family_name\nada@csv.example,Ada,Lovelace\n,Nobody,Here\ngrace@csv.example,Grace,Hopper\n";
  await page.setInputFiles("#csv-file", { name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await page.waitForFunction(() => document.getElementById("csv-text").value.includes("grace@csv.example"));
  await page.click("button:has-text('Check the file (dry run)')");
  // The dry run is a job: its panel counts the rows while it runs, then shows the summary.
  await page.locator("#import-panel[data-state='done']").waitFor();
  await page.locator("#row-errors").waitFor();
  const errors = await page.locator("#row-errors li").allInnerTexts();
  check(errors.length === 1 && errors[0].startsWith("Row 3"), `the bad row is named (${errors})`);
  check((await page.locator("button:has-text('Import these')").count()) === 0, "no import while a row is bad");
  await shot("import-dry-run-errors");
  ok("a dry run lists the bad row");
  const good = "email,given_name,family_name\nada@csv.example,Ada,Lovelace\nalan@csv.example,Alan,Turing\ngrace@csv.example,Grace,Hopper\n";
  await page.fill("#csv-text", good);
  await page.click("button:has-text('Check the file (dry run)')");
  await page.locator("button:has-text('Import these 3 rows')").waitFor();
  check((await page.locator("[data-created]").innerText()) === "3", "the dry run would create 3");
  check(
    (await page.locator("#import-result input[name='job']").count()) === 1 &&
      (await page.locator("#import-result input[name='csv']").count()) === 0,
    "the confirmation names the checked dry run, not the file",
  );
  await page.click("button:has-text('Import these 3 rows')");
  await page.locator("#import-panel[data-state='done'] h2:has-text('Imported')").waitFor();
  check(page.url().endsWith("/console/t/csvco/import"), `the form page stays (${page.url()})`);
  await shot("import-done");
  await page.goto(`${BASE}/console/t/csvco`);
  check((await count("participating")) === 3, "3 imported people participate");
  ok("a clean file is checked, then imported");

  // A dry-run sync against the Graph fake, and the plan page.
  // The connection is made in the console, with the platform's app registration.
  await api("POST", "/admin/v1/tenants", { slug: "graphco", name: "Graph Co" });
  await page.goto(`${BASE}/console/t/graphco/connection`);
  await page.click("a:has-text('Connect Microsoft 365')");
  await page.waitForURL(/\/directory\?provider=graph/);
  check(await page.locator("#what-happens:has-text('0 people')").isVisible(), "the form says what happens to the people");
  await page.fill("#d-directory", "contoso.example");
  await page.check("#d-scope-groups");
  await page.fill("#d-scope-items", "not-a-group");
  await page.click("button:has-text('Connect and make Microsoft 365 the source')");
  check(await page.locator("p.error:has-text('not a group')").isVisible(), "a bad group id is refused on the form");
  await shot("directory-form");
  await page.check("#d-scope-all");
  await page.click("button:has-text('Connect and make Microsoft 365 the source')");
  await page.waitForURL(/notice=connected/);
  check(await page.locator("text=Connection saved").isVisible(), "the connection is saved");
  check(await page.locator("dd:has-text('the whole directory')").isVisible(), "its scope is shown in words");
  ok("a pull connection is made from the console");
  await page.goto(`${BASE}/console/t/graphco/connection`);
  await page.click("button:has-text('Test the connection')");
  check(await page.locator("#test-result:has-text('Test passed')").isVisible(), "the connection test passes");
  await page.click("button:has-text('Dry run')");
  await page.waitForURL(/\/runs\//);
  // The panel follows the run without a reload (htmx polling).
  await page.locator("[data-status='planned']").waitFor({ timeout: 60_000 });
  const creates = await page.locator("section[data-action='create'] li").count();
  check(creates > 0, `the plan lists people to create (${creates})`);
  await shot("run-plan");
  ok("a dry run's plan is shown, grouped by action, with names");

  await page.goto(`${BASE}/console/t/graphco/connection`);
  await page.click("button:has-text('Sync now')");
  await page.waitForURL(/\/runs\//);
  await page.locator("[data-status='succeeded']").waitFor({ timeout: 60_000 });
  ok("sync now applies a run, followed to its end");

  // Approve a held run. The fake directory cannot lose people, so 20 people of the tenant
  // are marked as read from it (people the directory no longer has), and its delta links
  // are expired so that the next run reads the whole directory: that run would deprovision
  // the 20, more than the brake allows (the larger of 10 and 20% of about 80).
  for (let i = 0; i < 20; i++) {
    await api("POST", "/admin/v1/tenants/graphco/people", { email: `gone${i}@contoso.example` });
  }
  sql(
    "UPDATE users SET source = 'graph', source_ref = 'gone-' || id::text " +
      "WHERE source = 'manual' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'graphco')",
  );
  const expired = await fetch(`${process.env.FAKE_GRAPH}/_fake/expire-delta`, { method: "POST" });
  check(expired.ok, "the fake's delta links expire");
  await page.goto(`${BASE}/console/t/graphco/connection`);
  await page.click("button:has-text('Sync now')");
  await page.waitForURL(/\/runs\//);
  await page.locator("[data-status='held']").waitFor({ timeout: 60_000 });
  check(await page.locator("text=Held:").isVisible(), "the page says why the run is held");
  await shot("run-held");
  await page.click("button:has-text('Approve and apply the plan')");
  await page.locator("[data-status='succeeded']").waitFor({ timeout: 60_000 });
  ok("a held run shows why, and approving it applies it");

  await page.goto(`${BASE}/console/t/acme/activity`);
  await shot("activity");
  await page.selectOption("#event-type", "user.excluded");
  await page.click("button:has-text('Filter')");
  const kinds = await page.locator("tbody td code").allInnerTexts();
  check(kinds.filter((k) => k.startsWith("user.")).every((k) => k === "user.excluded"), "filtered by type");
  ok("the activity feed filters by type");

  await page.goto(`${BASE}/console/t/acme/settings`);
  await page.fill("#s-rate", "50");
  await page.fill("#s-erase", "20d");
  await page.click("button:has-text('Save settings')");
  check(await page.locator("text=Settings saved.").isVisible(), "settings saved");
  check((await page.inputValue("#s-rate")) === "50", "the new rate shows");
  check((await page.inputValue("#s-erase")) === "20days", "the erase setting shows");
  await shot("settings");
  ok("settings are saved");

  await page.goto(`${BASE}/console`);
  await shot("tenants");

  // Phone width: the people page fits without sideways scrolling.
  await page.setViewportSize(PHONE);
  await page.goto(`${BASE}/console/t/acme?state=all`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no horizontal overflow at phone width (${overflow}px)`);
  await page.screenshot({ path: `${SHOTS}/people-phone.png`, fullPage: true });
  await page.setViewportSize(LAPTOP);
  ok("the people page fits a phone-width window");

  // Accessibility: axe-core on each main page, in a context that lets its script in.
  const axeContext = await browser.newContext({ viewport: LAPTOP, bypassCSP: true });
  await axeContext.addCookies((await context.cookies()).filter((c) => c.name === "scimd_console"));
  const axePage = await axeContext.newPage();
  const seen = new Set();
  for (const { name, url } of mainPages) {
    if (seen.has(url) || url.includes("/sign-in")) {
      continue;
    }
    seen.add(url);
    await axePage.goto(url);
    await axePage.addScriptTag({ path: AXE });
    const found = await axePage.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    });
    check(found.length === 0, `axe on ${name}: ${found.join("; ")}`);
  }
  await axePage.goto(`${BASE}/console/sign-in`);
  await axePage.addScriptTag({ path: AXE });
  const signIn = await axePage.evaluate(async () =>
    (await window.axe.run(document)).violations.filter((v) => ["serious", "critical"].includes(v.impact)).length,
  );
  check(signIn === 0, "axe on the sign-in page");
  await axeContext.close();
  ok(`axe-core finds no serious or critical violation on ${seen.size + 1} pages`);

  check(cspViolations.length === 0, `no CSP violation: ${cspViolations.join("; ")}`);
  ok("no page broke its Content-Security-Policy");

  // Sign out, and the old session is refused.
  const before = (await context.cookies()).filter((c) => c.name === "scimd_console");
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(`${BASE}/console/sign-in`);
  const replay = await browser.newContext();
  await replay.addCookies(before);
  const replayPage = await replay.newPage();
  await replayPage.goto(`${BASE}/console`);
  check(replayPage.url().endsWith("/console/sign-in"), "the old session cookie is refused");
  await replay.close();
  ok("signing out ends the session; its old cookie is refused");
} catch (e) {
  console.log(`not ok ${step + 1} - ${e.message}`);
  try {
    await page.screenshot({ path: `${SHOTS}/failure.png`, fullPage: true });
    console.log(`  at ${page.url()} (screenshot: failure.png)`);
  } catch {
    // The page is gone: nothing to show.
  }
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(`# ${step} checks passed; screenshots in ${SHOTS}`);
