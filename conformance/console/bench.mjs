// bench.sh's measurements: the admin API's counts and people pages and the console's people
// page, timed from request sent to body read (median and p95 of REQUESTS, one at a time),
// then Chromium's own figures for a full load of the console's first and hundredth page.
import { chromium } from "playwright-core";

const BASE = process.env.CONSOLE_URL;
const KEY = process.env.ADMIN_KEY;
const N = Number(process.env.REQUESTS || 20);
const api = { authorization: `Bearer ${KEY}` };

async function timed(path, headers) {
  const t0 = performance.now();
  const res = await fetch(`${BASE}${path}`, { headers, redirect: "manual" });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) {
    throw new Error(`${path}: ${res.status}`);
  }
  return { ms, body };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms`;
}

async function measure(label, path, headers) {
  for (let i = 0; i < 3; i++) await timed(path, headers);
  const xs = [];
  for (let i = 0; i < N; i++) xs.push((await timed(path, headers)).ms);
  console.log(`| ${label} | \`${path.replace(/after=[^&]+/, "after=…").replace(/cursor=[^&]+/, "cursor=…")}\` | ${stats(xs)} |`);
}

// Sign in as a browser does: the form's token and its cookie, then the session cookie.
const form = await fetch(`${BASE}/console/sign-in`);
const pre = form.headers.getSetCookie().find((c) => c.startsWith("scimd_console_pre=")).split(";")[0];
const csrf = (await form.text()).match(/name="csrf" value="([^"]+)"/)[1];
const signed = await fetch(`${BASE}/console/sign-in`, {
  method: "POST",
  redirect: "manual",
  headers: { cookie: pre, "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ csrf, key: KEY }),
});
const session = signed.headers.getSetCookie().find((c) => c.startsWith("scimd_console=")).split(";")[0];
const browserish = { cookie: session };

// The hundredth page of each list, reached by following its links from the first.
let cursor = null;
for (let i = 1; i < 100; i++) {
  const q = cursor ? `&cursor=${cursor}` : "";
  const page = JSON.parse((await timed(`/admin/v1/tenants/bench/people?state=participating&limit=50${q}`, api)).body);
  cursor = page.next_cursor;
}
const apiDeep = `/admin/v1/tenants/bench/people?state=participating&limit=50&cursor=${cursor}`;
let after = null;
for (let i = 1; i < 100; i++) {
  const q = after ? `&after=${after}` : "";
  const html = (await timed(`/console/t/bench?state=participating${q}`, browserish)).body;
  after = html.match(/href="[^"]*after=([^"&]+)" rel="next"/)[1];
}
const consoleDeep = `/console/t/bench?state=participating&after=${after}`;

console.log(`Server time on ${BASE} (${N} requests each, one at a time, from request sent to body read):\n`);
console.log("| what | request | time |\n|---|---|---|");
await measure("API counts", "/admin/v1/tenants/bench/people/counts", api);
await measure("API list, page 1", "/admin/v1/tenants/bench/people?state=participating&limit=50", api);
await measure("API list, page 100", apiDeep, api);
await measure("console people page 1 (counts + page)", "/console/t/bench?state=participating", browserish);
await measure("console people page 100 (counts + page)", consoleDeep, browserish);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.addCookies([{ name: "scimd_console", value: session.split("=")[1], url: BASE }]);
const page = await context.newPage();
console.log("\nChromium, navigation timing (median of 5 loads; the assets are cached after the first):\n");
console.log("| page | time to first byte | DOMContentLoaded | load event |\n|---|---|---|---|");
for (const [label, path] of [["people page 1", "/console/t/bench?state=participating"], ["people page 100", consoleDeep]]) {
  const runs = [];
  for (let i = 0; i < 6; i++) {
    await page.goto(`${BASE}${path}`, { waitUntil: "load" });
    const t = await page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return { ttfb: n.responseStart - n.requestStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };
    });
    if (i > 0) runs.push(t);
  }
  const med = (k) => stats(runs.map((r) => r[k])).split(",")[0].replace("median ", "");
  console.log(`| ${label} | ${med("ttfb")} | ${med("dcl")} | ${med("load")} |`);
}
await browser.close();
