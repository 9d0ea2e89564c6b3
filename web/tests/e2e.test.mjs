// End-to-end test of the trading page in a real headless Chromium against the real exchange.
//
// It starts `pinwheel up` itself (engine, one edge, feed) on a free port with fresh
// directories, then drives two users through the page: sign up, deposit, a resting limit
// order seen in the book and in open orders, a crossing order from the other user, the trade
// in both pages' recent trades, balances and chart, a cancel, two rejected orders with their
// reasons in words, sign out and in, a phone-width layout check, and a screenshot of the page
// with a live book. Any console error or page error fails it (except the browser's own
// "Failed to load resource" line for each order the test expects the exchange to reject).
//
// Run: cd web && npm ci && node --test tests/
// Env: PINWHEEL_BIN (default ../target/debug/pinwheel), CHROMIUM (default /usr/bin/chromium),
//      SCREENSHOT_PATH (default docs/screenshot.png in the repository), CI=true makes a missing
//      Chromium or binary fatal.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO = path.resolve(WEB, '..');
const BIN = process.env.PINWHEEL_BIN ? path.resolve(process.env.PINWHEEL_BIN) : path.join(REPO, 'target/debug/pinwheel');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT_PATH ? path.resolve(process.env.SCREENSHOT_PATH) : path.join(REPO, 'docs/screenshot.png');
const IN_CI = process.env.CI === 'true';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const HEALTH_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const SYMBOL = 'BTC-USD';

const missing = [];
if (!fs.existsSync(CHROMIUM)) missing.push(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
if (!fs.existsSync(BIN)) missing.push(`pinwheel binary not found at ${BIN} (cargo build --bin pinwheel, or set PINWHEEL_BIN)`);
const skipReason = missing.length ? missing.join('; ') : false;
if (skipReason) {
  const banner = '!'.repeat(78);
  console.error(`\n${banner}\n!! web e2e test ${IN_CI ? 'CANNOT RUN' : 'SKIPPED'}: ${skipReason}\n${banner}\n`);
}

let tmp = '';
let server = null;
let serverLog = '';
let browser = null;
let base = '';

before(async () => {
  if (skipReason) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pinwheel-web-e2e-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = startServer(port);
  await waitForHealth(`${base}/healthz`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh temporary --user-data-dir of its own.
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopServer();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('web e2e: in CI, Chromium and the pinwheel binary must be present', { skip: !IN_CI }, () => {
  assert.equal(skipReason, false, String(skipReason));
});

test('two users trade through the page in a real browser', { skip: skipReason, timeout: 240_000 }, async () => {
  const problems = [];
  const expectedRejections = { allowed: 0, seen: 0 };
  const alice = await openPage('alice', problems, expectedRejections);
  const bob = await openPage('bob', problems, expectedRejections);
  const suffix = Date.now().toString(36);

  await signUp(alice, `alice_${suffix}`, 'correct horse battery');
  await signUp(bob, `bob_${suffix}`, 'staple battery horse');
  await deposit(alice, 'USD', '100000');
  await deposit(bob, 'BTC', '2');
  await waitBalance(alice, 'USD', { available: '100000', locked: '0' });
  await waitBalance(bob, 'BTC', { available: '2', locked: '0' });

  // Alice rests a bid; it shows in her book, bob's book and her open orders, and locks USD.
  await placeOrder(alice, { side: 'buy', price: '30000', quantity: '0.5' });
  await waitText(alice, 'order-message', /resting in the book/i);
  for (const page of [alice, bob]) await waitLevel(page, 'bid', '30000.00', '0.5');
  await waitFor(alice, 'open order at 30000', () => rows(alice, 'open-order', (row) => row.dataset.price === '30000' && row.dataset.side === 'buy'), (n) => n === 1);
  await waitBalance(alice, 'USD', { available: '85000', locked: '15000' });
  await expectLatency(alice);

  // Bob clicks the bid in his book (fills the price), sells into it, and both see the trade.
  await bob.locator('[data-testid="bid-level"][data-price="30000.00"] [data-testid="book-price"]').click();
  assert.equal(await bob.getByTestId('order-price').inputValue(), '30000.00', 'clicking a book price fills the form');
  await placeOrder(bob, { side: 'sell', quantity: '0.5', keepPrice: true });
  await waitText(bob, 'order-message', /order filled/i);
  for (const page of [alice, bob]) {
    await waitFor(page, 'the trade in recent trades', () => rows(page, 'trade', (row) => row.dataset.price === '30000' && row.dataset.quantity === '0.5'), (n) => n >= 1);
    await waitFor(page, 'a candle closing at 30000', () => page.getByTestId('chart').evaluate((chart) => chart.dataset.lastClose), (close) => close === '30000');
    await waitFor(page, 'the ticker last price', () => page.getByTestId('ticker-last').textContent(), (text) => text === '30,000');
    await waitFor(page, 'the bid gone from the book', () => rows(page, 'bid-level', (row) => row.dataset.price === '30000.00'), (n) => n === 0);
  }
  assert.ok(Number(await alice.getByTestId('chart').getAttribute('data-candles')) >= 1, 'the chart drew a candle');
  await waitFor(alice, 'no open orders', () => rows(alice, 'open-order'), (n) => n === 0);
  await waitBalance(alice, 'USD', { available: '85000', locked: '0' });
  await waitBalanceWhere(alice, 'BTC', 'between 0 and 0.5 BTC after fees', (b) => positiveAtMost(b.available, '0.5') && b.locked === '0');
  await waitBalance(bob, 'BTC', { available: '1.5', locked: '0' });
  await waitBalanceWhere(bob, 'USD', 'between 0 and 15000 USD after fees', (b) => positiveAtMost(b.available, '15000') && b.locked === '0');
  // History comes from /klines: another interval loads the same trade as its candle.
  await alice.getByTestId('interval-5m').click();
  await waitFor(alice, 'the 5m candle from /klines', () => alice.getByTestId('chart').evaluate((chart) => [chart.dataset.candles, chart.dataset.lastClose]), ([count, close]) => Number(count) >= 1 && close === '30000');
  await alice.getByTestId('interval-1m').click();
  // 25% of bob's 1.5 BTC, exactly, on the lot grid.
  await bob.getByTestId('side-sell').check({ force: true });
  await bob.getByTestId('pct-25').click();
  assert.equal(await bob.getByTestId('order-size').inputValue(), '0.375', '25% of 1.5 BTC');
  for (const page of [alice, bob]) {
    await page.getByTestId('tab-fills').click();
    await waitFor(page, 'the fill in the fills tab', () => rows(page, 'fill', (row) => row.dataset.price === '30000'), (n) => n >= 1);
    await page.getByTestId('tab-history').click();
    await waitFor(page, 'the filled order in history', () => rows(page, 'history-order', (row) => row.dataset.status === 'FILLED'), (n) => n >= 1);
    await page.getByTestId('tab-open').click();
  }

  // A cancel (done with the keyboard) removes the order from open orders and from the book.
  await placeOrder(alice, { side: 'buy', price: '29000', quantity: '0.1' });
  await waitLevel(alice, 'bid', '29000.00', '0.1');
  const cancelButton = alice.locator('[data-testid="open-order"][data-price="29000"] [data-testid="cancel-order"]');
  await cancelButton.waitFor({ timeout: STEP_TIMEOUT_MS });
  await cancelButton.focus();
  await alice.keyboard.press('Enter');
  await waitFor(alice, 'the canceled order gone', () => rows(alice, 'open-order'), (n) => n === 0);
  for (const page of [alice, bob]) await waitFor(page, 'the canceled bid gone from the book', () => rows(page, 'bid-level', (row) => row.dataset.price === '29000.00'), (n) => n === 0);
  await waitBalance(alice, 'USD', { available: '85000', locked: '0' });

  // Rejected orders show the engine's reason in plain words and change nothing.
  expectedRejections.allowed += 1;
  await placeOrder(bob, { side: 'buy', price: '30000', quantity: '10' });
  await waitFor(bob, 'the INSUFFICIENT_BALANCE reason', () => bob.getByTestId('order-message').getAttribute('data-code'), (code) => code === 'INSUFFICIENT_BALANCE');
  assert.match(await bob.getByTestId('order-message').textContent(), /don't have enough available balance/i);
  await placeOrder(alice, { side: 'sell', price: '31000', quantity: '0.1' });
  await waitLevel(bob, 'ask', '31000.00', '0.1');
  expectedRejections.allowed += 1;
  await placeOrder(bob, { side: 'buy', price: '31000', quantity: '0.1', postOnly: true });
  await waitFor(bob, 'the POST_ONLY_WOULD_CROSS reason', () => bob.getByTestId('order-message').getAttribute('data-code'), (code) => code === 'POST_ONLY_WOULD_CROSS');
  assert.match(await bob.getByTestId('order-message').textContent(), /post-only order would trade immediately/i);
  await waitLevel(bob, 'ask', '31000.00', '0.1');

  // Sign out clears the session; signing in brings the same account back.
  await alice.getByTestId('sign-out').click();
  await alice.getByTestId('auth-form').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  assert.equal(await alice.evaluate(() => localStorage.getItem('pinwheel.token')), null, 'sign out forgets the token');
  await alice.getByLabel('Username').fill(`alice_${suffix}`);
  await alice.getByLabel('Password').fill('correct horse battery');
  await alice.getByTestId('sign-in').click();
  await waitText(alice, 'who', new RegExp(`alice_${suffix}`));
  await waitFor(alice, 'the resting ask in open orders after sign in', () => rows(alice, 'open-order', (row) => row.dataset.price === '31000'), (n) => n === 1);
  // Signing in starts the page afresh: its order history comes from /orders/history.
  await alice.getByTestId('tab-history').click();
  // The predicates run in the page: each names its status itself.
  await waitFor(alice, 'the FILLED order in history after sign in', () => rows(alice, 'history-order', (row) => row.dataset.status === 'FILLED'), (n) => n >= 1);
  await waitFor(alice, 'the CANCELED order in history after sign in', () => rows(alice, 'history-order', (row) => row.dataset.status === 'CANCELED'), (n) => n >= 1);
  await waitFor(alice, 'the NEW order in history after sign in', () => rows(alice, 'history-order', (row) => row.dataset.status === 'NEW'), (n) => n >= 1);
  await alice.getByTestId('tab-open').click();

  // A live book for the screenshot: a few more levels on each side, placed over the API.
  await addLevels(alice, 'buy', ['29990', '29980', '29950', '29900', '29850'], '0.05');
  await addLevels(bob, 'sell', ['30010', '30020', '30050', '30100', '30150'], '0.07');
  await waitFor(alice, 'five bids and six asks in the book', async () => [await rows(alice, 'bid-level'), await rows(alice, 'ask-level')], ([bids, asks]) => bids >= 5 && asks >= 6);
  await waitText(alice, 'spread', /Spread 20\.00/);
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await alice.screenshot({ path: SCREENSHOT, fullPage: true });

  // Keyboard: every control has a name, and Tab walks the order form in reading order.
  const unnamed = await alice.evaluate(unnamedControls);
  assert.deepEqual(unnamed, [], 'every visible control has an accessible name');
  const order = await tabOrder(alice, 'order-form');
  const at = (id) => order.indexOf(id);
  assert.match(order[0] ?? '', /^side-(buy|sell)$/, `the form starts at the side (order: ${order.join(', ')})`);
  for (const id of ['type-limit', 'order-price', 'size-quantity', 'order-size', 'pct-25', 'order-tif', 'order-submit']) {
    assert.ok(at(id) >= 0, `${id} is reachable with Tab (order: ${order.join(', ')})`);
  }
  assert.ok(at('order-price') < at('order-price') < at('order-size') && at('order-size') < at('order-submit'), `focus order: ${order.join(', ')}`);

  // Phone width: one column, nothing wider than the screen, the order form reachable.
  await alice.setViewportSize({ width: 390, height: 844 });
  await waitFor(alice, 'no horizontal overflow at 390px', () => alice.evaluate(overflow), (found) => found.width <= 390);
  await alice.getByTestId('order-submit').scrollIntoViewIfNeeded();
  assert.ok(await alice.getByTestId('order-submit').isVisible(), 'the order button is visible on a phone');

  await alice.waitForTimeout(300); // let late stream messages land before judging the console
  assert.equal(expectedRejections.seen, expectedRejections.allowed, 'each expected reject logged exactly one failed request');
  assert.deepEqual(problems, [], 'no console errors and no page errors');
});

/** Page width and the elements that stick out past the viewport (named, for the failure message). */
function overflow() {
  const wide = [...document.querySelectorAll('body *')]
    .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1 && !node.closest('.scroll'))
    .slice(0, 5)
    .map((node) => `${node.tagName.toLowerCase()}${node.dataset.testid ? `[${node.dataset.testid}]` : ''}.${node.className}`);
  return { width: document.documentElement.scrollWidth, wide };
}

/** Visible inputs, selects and buttons without an accessible name (label, aria-label or text). */
function unnamedControls() {
  return [...document.querySelectorAll('input, select, button')]
    .filter((node) => node.getClientRects().length > 0 || node.type === 'radio')
    .filter((node) => !(node.labels?.length || node.getAttribute('aria-label') || node.textContent.trim()))
    .map((node) => node.dataset.testid || node.outerHTML.slice(0, 80));
}

/** The data-testids inside `container` that Tab focuses, in order, starting from its first field. */
async function tabOrder(page, container) {
  await page.getByTestId(container).locator('input:checked').first().focus();
  const seen = [];
  for (let step = 0; step < 30; step += 1) {
    const id = await page.evaluate((root) => {
      const active = document.activeElement;
      return active?.closest(`[data-testid="${root}"]`) ? active.dataset.testid ?? '' : null;
    }, container);
    if (id === null) break;
    if (id) seen.push(id);
    await page.keyboard.press('Tab');
  }
  return seen;
}

// ---- page helpers -------------------------------------------------------------------------

async function openPage(name, problems, expectedRejections) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const url = message.location()?.url ?? '';
    const isRejectedOrder = /^Failed to load resource: the server responded with a status of 4\d\d/.test(text) && /\/api\/v1\/order$/.test(url);
    if (isRejectedOrder && expectedRejections.seen < expectedRejections.allowed) expectedRejections.seen += 1;
    else problems.push(`${name}: console error: ${text} ${url}`);
  });
  await page.goto(base, { timeout: STEP_TIMEOUT_MS });
  await page.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: STEP_TIMEOUT_MS });
  await waitText(page, 'connection', /live/);
  assert.equal(await page.getByTestId('market-select').inputValue(), SYMBOL);
  return page;
}

async function signUp(page, username, password) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('sign-up').click();
  await waitText(page, 'who', new RegExp(username));
  assert.ok(await page.evaluate(() => localStorage.getItem('pinwheel.token')), 'the token is kept in localStorage');
}

async function deposit(page, asset, amount) {
  await page.getByLabel('Asset').selectOption(asset);
  await page.getByLabel('Amount').fill(amount);
  await page.getByTestId('deposit-submit').click();
  await waitText(page, 'deposit-message', new RegExp(`Deposited ${amount} ${asset}`));
}

async function placeOrder(page, { side, price, quantity, postOnly = false, keepPrice = false }) {
  const form = page.getByTestId('order-form');
  await form.getByTestId(`side-${side}`).check({ force: true });
  await form.getByTestId('type-limit').check({ force: true });
  await form.getByTestId('size-quantity').check({ force: true });
  if (!keepPrice) await page.getByRole('textbox', { name: /^Price/ }).fill(price);
  await page.getByRole('textbox', { name: /^Quantity/ }).fill(quantity);
  const postOnlyBox = page.getByLabel(/Post-only/);
  if ((await postOnlyBox.isChecked()) !== postOnly) await postOnlyBox.setChecked(postOnly);
  await page.getByTestId('order-message').evaluate((node) => {
    node.textContent = '';
    node.dataset.code = '';
  });
  await page.getByTestId('order-submit').click();
  await waitFor(page, 'an answer to the order', () => page.getByTestId('order-message').textContent(), (text) => text !== '' && text !== 'Sending…');
}

/** Places resting orders over the REST API with the page's own session. */
async function addLevels(page, side, prices, quantity) {
  const token = await page.evaluate(() => localStorage.getItem('pinwheel.token'));
  for (const price of prices) {
    const response = await fetch(`${base}/api/v1/order`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ market: SYMBOL, side, type: 'limit', price, quantity, timeInForce: 'GTC' }),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    assert.ok(response.ok, `placing ${side} ${quantity} at ${price}: ${response.status} ${await response.text()}`);
  }
}

function rows(page, testId, predicate = () => true) {
  return page.locator(`[data-testid="${testId}"]`).evaluateAll((nodes, source) => {
    const test = new Function(`return (${source})`)();
    return nodes.filter((node) => test(node)).length;
  }, predicate.toString());
}

async function waitLevel(page, side, price, quantity) {
  await waitFor(page, `${side} ${quantity} at ${price} in the book`, () => rows(page, `${side}-level`, new Function('row', `return row.dataset.price === ${JSON.stringify(price)} && row.dataset.quantity === ${JSON.stringify(quantity)}`)), (n) => n === 1);
}

async function waitText(page, testId, pattern) {
  await waitFor(page, `[${testId}] to match ${pattern}`, () => page.getByTestId(testId).textContent(), (text) => pattern.test(text ?? ''));
}

function balance(page, asset) {
  return page.getByTestId(`balance-${asset}`).evaluate((row) => ({ available: row.dataset.available, locked: row.dataset.locked })).catch(() => null);
}

async function waitBalance(page, asset, expected) {
  await waitFor(page, `${asset} balance ${JSON.stringify(expected)}`, () => balance(page, asset), (b) => b?.available === expected.available && b?.locked === expected.locked);
}

async function waitBalanceWhere(page, asset, what, check) {
  await waitFor(page, `${asset} balance ${what}`, () => balance(page, asset), (b) => b !== null && check(b));
}

async function expectLatency(page) {
  const text = await page.getByTestId('latency').textContent();
  assert.match(text, /^Order RTT \d+(\.\d+)? ms$/, 'the latency readout shows the last order round trip');
}

/** Exact decimal check 0 < value <= limit, on strings. */
function positiveAtMost(value, limit) {
  const scale = (text) => {
    const [whole, fraction = ''] = text.split('.');
    return BigInt(whole + fraction.padEnd(18, '0'));
  };
  return /^\d+(\.\d+)?$/.test(value ?? '') && scale(value) > 0n && scale(value) <= scale(limit);
}

/** Polls `read` until `done(value)` holds; fails after STEP_TIMEOUT_MS naming what and the last value. */
async function waitFor(page, what, read, done, timeout = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      const path = path_(what);
      await page.screenshot({ path }).catch(() => {});
      assert.fail(`timed out after ${timeout} ms waiting for ${what}; last value: ${JSON.stringify(last)} (screenshot ${path})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function path_(what) {
  return path.join(tmp || os.tmpdir(), `failure-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
}

// ---- server helpers -----------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function startServer(port) {
  const runDir = path.join(tmp, 'run');
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(runDir);
  fs.mkdirSync(dataDir);
  const child = spawn(BIN, ['up', '--run-dir', runDir, '--data-dir', dataDir, '--port', String(port), '--wait', 'backoff', '--edges', '1'], {
    cwd: tmp,
    detached: true, // its own process group, so engine, edge and feed are stopped together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => {
    serverLog = (serverLog + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.hasExited = false;
  child.exited.then(() => (child.hasExited = true));
  process.once('exit', () => killGroup(child, 'SIGKILL'));
  return child;
}

async function waitForHealth(url) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.hasExited) throw new Error(`pinwheel up exited before it was healthy:\n${serverLog}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`pinwheel up was not healthy at ${url} within ${HEALTH_TIMEOUT_MS} ms:\n${serverLog}`);
}

function killGroup(child, signal) {
  if (!child || child.hasExited) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stopServer() {
  if (!server) return;
  killGroup(server, 'SIGTERM');
  const stopped = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve(null), STOP_TIMEOUT_MS))]);
  if (!stopped) {
    console.error(`pinwheel up did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM; killing it`);
    killGroup(server, 'SIGKILL');
    await server.exited;
  }
  // The children share the group: make sure none outlived the supervisor.
  try {
    process.kill(-server.pid, 'SIGKILL');
  } catch {
    // the whole group is gone, as it should be
  }
  if (process.exitCode && serverLog) console.error(`pinwheel up output (tail):\n${serverLog}`);
}
