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

// `demo`: two people in two browsers sign up in the demo, one sells a listing with a photo and
// posts to the feed, the other asks about it in chat; they see each other's messages, read
// receipts and typing live; the seller approves, the buyer pays through the Toss checkout
// stand-in, and both see the listing sold.
async function demo(browser) {
  const run = Date.now().toString(36);
  const open = async (who) => {
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, locale: "ko-KR" });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error(`${who}: ${e}`));
    await page.goto(`${base}/demo/`);
    const email = `${who}-${run}@example.com`;
    await page.fill("#signup-form [name=email]", email);
    await page.fill("#signup-form [name=password]", "walks4ever");
    await page.fill("#signup-form [name=name]", who === "seller" ? "김민지" : "이준호");
    await page.fill("#signup-form [name=nickname]", `${who}_${run}`);
    await page.click("#signup-form button[type=submit]");
    await page.click("#fetch-code");
    await page.waitForFunction(() => document.querySelector("#verify-form [name=code]").value.length === 6);
    await page.click("#verify-form button[type=submit]");
    await page.waitForSelector("#app:not([hidden])", { timeout: 20000 });
    return { page, context, nickname: `${who}_${run}` };
  };
  const seller = await open("seller");
  const buyer = await open("buyer");
  try {
    await demoSteps(seller, buyer);
  } catch (e) {
    // What each person saw when it went wrong.
    await seller.page.screenshot({ path: join(shots, "demo-failed-seller.png") }).catch(() => {});
    await buyer.page.screenshot({ path: join(shots, "demo-failed-buyer.png") }).catch(() => {});
    const toasts = await Promise.all([seller, buyer].map((w) => w.page.textContent("#toast").catch(() => "")));
    throw new Error(`${e.message}\n(what the pages last said: ${toasts.join(" | ")})`);
  }
  await seller.page.screenshot({ path: join(shots, "demo-seller.png") });
  await buyer.page.screenshot({ path: join(shots, "demo-buyer.png") });
  for (const who of [seller, buyer]) await who.context.close();
  console.log("demo: two people signed up, chatted with read receipts and typing, and one bought the other's listing");
}

async function demoSteps(seller, buyer) {
  const png = { name: "photo.png", mimeType: "image/png", buffer: Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64") };

  // A post with a photo, on the seller's feed.
  await seller.page.fill("#post-form [name=content]", "오늘 한강에서 산책했어요");
  await seller.page.setInputFiles("#post-form [name=photo]", png);
  await seller.page.click("#post-form button[type=submit]");
  await seller.page.waitForSelector("#feed li img", { timeout: 20000 });

  // A pet.
  await seller.page.click("nav [data-tab=pets]");
  await seller.page.waitForSelector("#species option", { state: "attached" });
  await seller.page.fill("#pet-form [name=name]", "콩이");
  await seller.page.click("#pet-form button[type=submit]");
  await seller.page.locator("#pets li", { hasText: "콩이" }).waitFor({ timeout: 15000 });

  // A listing with a photo.
  await seller.page.click("nav [data-tab=market]");
  await seller.page.fill("#listing-form [name=title]", "강아지 하네스");
  await seller.page.fill("#listing-form [name=price]", "15000");
  await seller.page.fill("#listing-form [name=description]", "두 번 사용했어요");
  await seller.page.setInputFiles("#listing-form [name=photo]", png);
  await seller.page.click("#listing-form button[type=submit]");
  await seller.page.waitForSelector("#listings li img", { timeout: 20000 });

  // The buyer finds it and asks in chat.
  await buyer.page.click("nav [data-tab=market]");
  const ask = buyer.page.locator("#listings li", { hasText: "강아지 하네스" }).getByRole("button", { name: "채팅으로 문의하기" });
  await ask.waitFor({ timeout: 20000 });
  await ask.click();
  await buyer.page.waitForSelector("#room:not([hidden])");
  await buyer.page.fill("#message-form [name=content]", "안녕하세요, 구매하고 싶어요!");
  await buyer.page.click("#message-form button[type=submit]");
  await buyer.page.locator("#messages li.mine", { hasText: "구매하고 싶어요" }).waitFor({ timeout: 15000 });

  // The seller opens the room: the message is there, and the buyer sees it read.
  await seller.page.click("nav [data-tab=chat]");
  await seller.page.locator("#rooms li", { hasText: "강아지 하네스" }).click();
  await seller.page.locator("#messages li", { hasText: "구매하고 싶어요" }).waitFor({ timeout: 15000 });
  await buyer.page.locator("#messages li.mine .receipt", { hasText: "읽음" }).waitFor({ timeout: 15000 });

  // The seller types (the buyer sees it), then answers (the buyer sees it live).
  await seller.page.type("#message-form [name=content]", "네, 가능해요. 승인해 드릴게요.");
  await buyer.page.locator("#typing:not([hidden])").waitFor({ timeout: 15000 });
  await seller.page.click("#message-form button[type=submit]");
  await buyer.page.locator("#messages li", { hasText: "승인해 드릴게요" }).waitFor({ timeout: 15000 });
  await seller.page.locator("#messages li.mine .receipt", { hasText: "읽음" }).waitFor({ timeout: 15000 });

  // The seller approves the purchase; the buyer pays; both see the listing sold.
  await seller.page.click("#approve");
  await buyer.page.waitForSelector("#pay:not([disabled])", { timeout: 15000 });
  await buyer.page.click("#pay");
  await buyer.page.locator("#pay-result", { hasText: "결제 완료" }).waitFor({ timeout: 20000 });
  for (const who of [buyer, seller]) {
    await who.page.locator("#sale-status", { hasText: "판매 완료" }).waitFor({ timeout: 20000 });
  }
  // The sale reached the seller's inbox live: the bell counts it, the inbox lists it.
  await seller.page.waitForFunction(() => Number(document.querySelector("#unread").textContent) > 0, null, { timeout: 20000 });
  await seller.page.click("#bell");
  await seller.page.locator("#notifications li", { hasText: "거래" }).first().waitFor({ timeout: 15000 });
  await seller.page.click("nav [data-tab=chat]");
}

const scenarios = { docs, demo };
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
