// Browser tests in Debian's Chromium, driven by playwright-core (no browser download):
//   BASE_URL=http://127.0.0.1:3000 ACCESS_TOKEN=… SCREENSHOT_DIR=… node tests/browser.mjs docs
// `docs`: the API reference renders offline (every request it makes stays on the stack), and
// its bearer scheme works: Authorize with a token, try GET /users/me, see the account.
// Exits non-zero, with the reason, on the first thing that is not as a user would see it.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const shots = process.env.SCREENSHOT_DIR ?? "screenshots";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

// As root and on a closed network, Chromium needs these to start and to stay quiet.
const args = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function fail(why) {
  console.error(`FAIL: ${why}`);
  process.exit(1);
}

async function docs(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const outside = [];
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Anything not from the stack is refused, and noted: the page must not need it.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === new URL(base).origin) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
  await page.getByText("Pet platform API").first().waitFor({ timeout: 30000 });
  // Every tag's section, the last ones included.
  for (const tag of ["auth", "market", "health", "users"]) {
    await page.locator(`text=${tag}`).first().waitFor({ timeout: 30000 });
  }
  await page.screenshot({ path: join(shots, "docs.png") });

  // The bearer scheme, as a person who just signed in uses it: the token in, one call tried.
  const token = process.env.ACCESS_TOKEN;
  if (!token) fail("ACCESS_TOKEN is not set");
  await page.getByPlaceholder("Token").first().fill(token);
  // Through the sidebar, as a reader finds it: the users group, then "My account".
  await page.getByText("users", { exact: true }).first().click();
  await page.getByText("My account", { exact: true }).first().click();
  const section = page.locator("[id='api-1/tag/users/GET/users/me']");
  await section.waitFor({ timeout: 20000 });
  await section.scrollIntoViewIfNeeded();
  await section.getByRole("button", { name: /Test Request/ }).first().click();
  const send = page.getByRole("button", { name: /^Send/ }).first();
  await send.waitFor({ timeout: 20000 });
  await send.click();
  await page.getByText(/200\s*OK|200/).first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);
  const shown = await page.evaluate(() => document.body.innerText);
  if (!shown.includes(process.env.EMAIL ?? "@")) fail(`the account is not shown after trying GET /users/me`);
  await page.screenshot({ path: join(shots, "docs-try-it.png") });
  console.log("docs: rendered offline; GET /users/me tried with the bearer token: 200");
  if (outside.length) fail(`the page reached outside the stack: ${outside.join(", ")}`);
  if (errors.length) fail(`the page failed: ${errors.join(" | ")}`);
}

const scenarios = { docs };
const chosen = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, headless: true, args });
try {
  for (const name of chosen.length ? chosen : Object.keys(scenarios)) {
    if (!scenarios[name]) fail(`no scenario ${name}`);
    await scenarios[name](browser);
  }
} catch (e) {
  fail(e.stack ?? String(e));
} finally {
  await browser.close();
}
