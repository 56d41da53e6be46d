#!/usr/bin/env node
/*
 * Browser tests of the hosted card fields (issue 6): Playwright (playwright-core,
 * pinned in package-lock.json) driving Debian's Chromium, headless, against the
 * running dev stack (make up: vault, gateway, pspsim, example checkout).
 *
 *   node tests/e2e/checkout.mjs [--env var/dev.env] [--out build/e2e] [--only NAME]
 *
 * Prints "ok NAME" / "FAIL NAME: why" per case and "e2e: N passed, N failed";
 * exits 1 when a case failed. Screenshots of the checkout states go to --out.
 * Chromium trusts the vault's and pspsim's dev certificates by their SPKI
 * hashes (--ignore-certificate-errors-spki-list: only those two keys) and
 * resolves psp.strongroom.test to 127.0.0.1 (the 3-D Secure challenge host).
 */
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 && args[i + 1] ? args[i + 1] : d; };
const ENV = {};
for (const l of readFileSync(opt('--env', join(ROOT, 'var', 'dev.env')), 'utf8').split('\n')) {
  const m = /^(?:export )?([A-Z0-9_]+)=(.*)$/.exec(l);
  if (m) ENV[m[1]] = m[2];
}
const OUT = opt('--out', join(ROOT, 'build', 'e2e'));
const ONLY = opt('--only', '');
mkdirSync(OUT, { recursive: true });
const CHECKOUT = ENV.CHECKOUT_URL;                       // http://localhost:PORT/ (registered)
const OTHER = CHECKOUT.replace('//localhost:', '//127.0.0.1:');  // same server, unregistered origin
const VAULT = new URL(ENV.VAULT_URL).origin;
const REQ_LOG = join(ROOT, 'var', 'log', 'checkout-requests.log');
const YY = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');

function spki(cert) {
  const pub = execFileSync('openssl', ['x509', '-in', cert, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}
function luhnPans(text) {
  const found = [];
  for (const m of text.matchAll(/\b\d{13,19}\b/g)) {
    let s = 0;
    const d = m[0];
    for (let i = 0; i < d.length; i++) {
      let n = d.charCodeAt(d.length - 1 - i) - 48;
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      s += n;
    }
    if (s % 10 === 0) found.push(d);
  }
  return found;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--host-resolver-rules=MAP psp.strongroom.test 127.0.0.1',
         `--ignore-certificate-errors-spki-list=${spki(join(ROOT, 'var/pki/vault-public.crt'))},${spki(join(ROOT, 'var/pki/pspsim.crt'))}`],
});

/* A fresh page on url; records console messages and the bodies the page sent. */
async function open(url, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 640, height: 720 }, ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const sent = [];
  const consoleLines = [];
  page.on('request', (r) => sent.push({ url: r.url(), method: r.method(), body: r.postData() || '', frame: r.frame().url() }));
  page.on('console', (m) => consoleLines.push(m.text()));
  currentPage = page;
  await page.goto(url);
  return { context, page, sent, consoleLines };
}
const fields = (page) => page.frameLocator('#card iframe');
async function fill(page, number, exp, cvc) {
  const f = fields(page);
  await f.locator('#number').waitFor();
  await f.locator('#number').pressSequentially(number, { delay: 5 });
  await f.locator('#exp').pressSequentially(exp, { delay: 5 });
  await f.locator('#cvc').pressSequentially(cvc, { delay: 5 });
}
/* Run one step; a failure names the step. */
async function step(name, fn) {
  try { return await fn(); } catch (e) { throw new Error(`${name}: ${String(e && e.message).split('\n')[0]}`); }
}
let currentPage = null;
async function shot(page, name) { await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true }); }

const cases = {
  /* 4242 4242 4242 4242 typed into the iframe -> captured; the merchant's server saw the token, no PAN. */
  async pay_4242_captured() {
    const { page, context, sent } = await open(CHECKOUT);
    const logBefore = readFileSync(REQ_LOG, 'utf8').length;
    await fill(page, '4242424242424242', `12${YY}`, '123');
    const f = fields(page);
    assert(await f.locator('#number').inputValue() === '4242 4242 4242 4242', 'number not formatted');
    assert(await f.locator('#exp').inputValue() === `12 / ${YY}`, 'expiry not formatted');
    assert((await f.locator('#brand').textContent()) === 'visa', 'brand not detected');
    await shot(page, '01-card-filled');
    await page.click('#pay');
    await page.locator('#result[data-status="captured"]').waitFor();
    await shot(page, '02-payment-captured');
    const text = await page.locator('#result').textContent();
    assert(/pay_/.test(text) && /visa •••• 4242/.test(text), `result: ${text}`);
    await sleep(200);
    const log = readFileSync(REQ_LOG, 'utf8').slice(logBefore);
    const tok = /"token":"(tok_[0-9A-Za-z]+)"/.exec(log);
    assert(tok, 'the merchant server did not receive a token');
    assert(luhnPans(log).length === 0, 'a card number reached the merchant server');
    assert(/"status":"captured"/.test(log), 'no captured payment in the server log');
    /* Every request the merchant's page sent to its own origin: no PAN. The
     * only request carrying the card went to the vault, from the iframe. */
    const own = sent.filter((r) => r.url.startsWith(CHECKOUT));
    assert(own.length > 0 && own.every((r) => luhnPans(r.body).length === 0), 'PAN sent to the merchant origin');
    const carded = sent.filter((r) => luhnPans(r.body).length > 0);
    assert(carded.length === 1 && carded[0].url === `${VAULT}/v1/tokens` && carded[0].frame.startsWith(`${VAULT}/v1/elements/card`),
           `card data sent elsewhere: ${JSON.stringify(carded.map((r) => r.url))}`);
    await context.close();
  },

  /* The merchant page's own script cannot read the iframe's inputs. */
  async merchant_script_cannot_read_fields() {
    const { page, context } = await open(CHECKOUT);
    await fill(page, '4242424242424242', `12${YY}`, '123');
    const r = await page.evaluate(() => {
      try {
        const w = document.querySelector('#card iframe').contentWindow;
        return 'read:' + w.document.querySelector('#number').value;
      } catch (e) { return 'blocked:' + e.name; }
    });
    assert(r === 'blocked:SecurityError', `got ${r}`);
    const r2 = await page.evaluate(() => { try { return String(window.frames[0].location.href); } catch (e) { return 'blocked:' + e.name; } });
    assert(r2 === 'blocked:SecurityError', `location readable: ${r2}`);
    await context.close();
  },

  /* CORS: the registered origin may call POST /v1/tokens; another origin may not. */
  async unregistered_origin_cannot_tokenize() {
    const call = (page) => page.evaluate(async ({ vault, pk, year }) => {
      try {
        const r = await fetch(vault + '/v1/tokens', { method: 'POST', headers: { Authorization: 'Bearer ' + pk, 'Content-Type': 'application/json' },
          body: JSON.stringify({ card: { number: '4242424242424242', exp_month: 12, exp_year: year, cvc: '123' } }) });
        return 'status:' + r.status;
      } catch (e) { return 'blocked:' + e.name; }
    }, { vault: VAULT, pk: ENV.STRONGROOM_PK, year: 2000 + Number(YY) });
    /* The example page's own CSP (connect-src 'self') would stop the call
     * before CORS is even asked: bypass it to test the vault's answer. */
    const a = await open(CHECKOUT, { bypassCSP: true });
    const okr = await call(a.page);
    assert(okr === 'status:201', `registered origin: ${okr}`);
    await a.context.close();
    const b = await open(OTHER, { bypassCSP: true });
    const bad = await call(b.page);
    assert(bad === 'blocked:TypeError', `unregistered origin: ${bad}`);
    await b.context.close();
  },

  /* frame-ancestors: an unregistered origin cannot show the fields, neither with
   * its own origin (refused by the vault) nor claiming the registered one. */
  async unregistered_origin_cannot_frame() {
    const { page, context, consoleLines } = await open(OTHER);
    const reg = new URL(CHECKOUT).origin;
    await page.evaluate(({ vault, pk, reg }) => {
      const f = document.createElement('iframe');
      f.id = 'claiming';
      f.src = vault + '/v1/elements/card?pk=' + encodeURIComponent(pk) + '&origin=' + encodeURIComponent(reg);
      document.body.appendChild(f);
    }, { vault: VAULT, pk: ENV.STRONGROOM_PK, reg });
    await sleep(1500);
    for (const sel of ['#card iframe', '#claiming']) {
      const frame = await (await page.$(sel)).contentFrame();
      const n = frame ? await frame.locator('#number').count().catch(() => 0) : 0;
      assert(n === 0, `${sel}: card fields rendered on an unregistered origin`);
    }
    assert(consoleLines.some((l) => /frame-ancestors/.test(l)), 'no frame-ancestors refusal reported by the browser');
    await page.locator('#card-errors', { hasText: 'could not be loaded' }).waitFor({ timeout: 12000 });
    await shot(page, '03-unregistered-origin');
    await context.close();
  },

  async invalid_number_error() {
    const { page, context, sent } = await open(CHECKOUT);
    await fill(page, '4242424242424241', `12${YY}`, '123');
    const f = fields(page);
    await f.locator('#error', { hasText: 'Your card number is invalid.' }).waitFor();
    assert(await f.locator('#number').getAttribute('aria-invalid') === 'true', 'number not marked invalid');
    await page.locator('#card-errors[data-code="incorrect_number"]').waitFor();  /* change event reached the page */
    await page.click('#pay');
    await sleep(300);
    assert(!sent.some((r) => r.url === `${VAULT}/v1/tokens`), 'an invalid number was sent to the vault');
    await shot(page, '04-invalid-number');
    await context.close();
  },

  async past_expiry_error() {
    const { page, context } = await open(CHECKOUT);
    await fill(page, '4242424242424242', '0120', '123');
    const f = fields(page);
    await f.locator('#error', { hasText: "Your card's expiration date is in the past." }).waitFor();
    assert(await f.locator('#exp').getAttribute('aria-invalid') === 'true', 'expiry not marked invalid');
    await page.locator('#card-errors[data-code="invalid_expiry_year_past"]').waitFor();
    await shot(page, '05-past-expiry');
    await context.close();
  },

  async declined_card_error() {
    const { page, context } = await open(CHECKOUT);
    await fill(page, '4000000000000002', `12${YY}`, '123');
    await page.click('#pay');
    await page.locator('#result[data-status="failed"]').waitFor();
    await fields(page).locator('#error', { hasText: 'declined' }).waitFor();
    assert(/card_declined/.test(await page.locator('#result').textContent()), 'no card_declined');
    await shot(page, '06-declined');
    await context.close();
  },

  /* 4000 0000 0000 3220: the challenge opens, is completed, the payment succeeds at the PSP. */
  async three_d_secure_challenge() {
    const { page, context } = await open(CHECKOUT);
    await fill(page, '4000000000003220', `12${YY}`, '123');
    await page.click('#pay');
    const ch = page.frameLocator('iframe[name="strongroom-3ds"]');
    await step('challenge shown', () => ch.locator('#complete').waitFor({ timeout: 20000 }));
    await shot(page, '07-3ds-challenge');
    await ch.locator('#complete').click();
    await step('payment re-checked', () => page.locator('#result[data-status="captured"], #result[data-status="authenticated"], #result[data-status="failed"]').waitFor({ timeout: 20000 }));
    const auth = await page.locator('#result').getAttribute('data-authentication');
    const st = await page.locator('#result').getAttribute('data-status');
    await shot(page, '08-3ds-done');
    assert(auth === 'succeeded', `challenge result ${auth}`);
    assert(await page.locator('iframe[name="strongroom-3ds"]').count() === 0, 'challenge still open');
    /* the gateway's worker moves the payment on once the PSP reports the
     * challenge done (issue 4, ADR 0024) */
    assert(st === 'captured', `status ${st}`);
    await context.close();
  },

  /* Brand detection and formatting as the user types; amex takes a 4-digit CVC. */
  async brand_and_formatting() {
    const { page, context } = await open(CHECKOUT);
    const f = fields(page);
    await fill(page, '378282246310005', `12${YY}`, '1234');
    assert(await f.locator('#number').inputValue() === '3782 822463 10005', 'amex grouping');
    assert(await f.locator('#brand').textContent() === 'amex', 'amex brand');
    assert(await f.locator('#cvc').inputValue() === '1234', 'amex CVC');
    assert(await f.locator('#error').textContent() === '', 'unexpected error');
    await f.locator('#number').fill('');
    await f.locator('#number').pressSequentially('5555555555554444', { delay: 5 });
    assert(await f.locator('#brand').textContent() === 'mastercard', 'mastercard brand');
    await f.locator('#cvc').blur();
    await f.locator('#error', { hasText: 'security code is invalid' }).waitFor();  /* 4 digits for a mastercard */
    await context.close();
  },

  /* Closing the challenge resolves handleNextAction with an error, shown to the buyer. */
  async three_d_secure_cancel() {
    const { page, context } = await open(CHECKOUT);
    await fill(page, '4000000000003220', `12${YY}`, '123');
    await page.click('#pay');
    await step('challenge shown', () => page.frameLocator('iframe[name="strongroom-3ds"]').locator('#complete').waitFor({ timeout: 20000 }));
    await page.locator('.strongroom-3ds button').click();
    await page.locator('#card-errors', { hasText: 'canceled' }).waitFor();
    assert(await page.locator('iframe[name="strongroom-3ds"]').count() === 0, 'challenge still open');
    await context.close();
  },

  /* The page's script tag pins strongroom.js by SRI: a wrong hash is refused. */
  async strongroom_js_sri_enforced() {
    const { page, context } = await open(CHECKOUT);
    const sri = readFileSync(join(ROOT, 'vault/elements/static/strongroom.js.sri'), 'utf8').trim();
    const load = (integrity) => page.evaluate(({ src, integrity }) => new Promise((resolve) => {
      const s = document.createElement('script');
      s.src = src; s.integrity = integrity; s.crossOrigin = 'anonymous';
      s.onload = () => resolve('loaded'); s.onerror = () => resolve('blocked');
      document.head.appendChild(s);
    }), { src: `${VAULT}/v1/strongroom.js`, integrity });
    assert(await load(sri) === 'loaded', 'the published SRI hash does not match the served file');
    assert(await load('sha384-' + 'A'.repeat(64)) === 'blocked', 'a wrong SRI hash was accepted');
    await context.close();
  },
};

let passed = 0, failed = 0;
for (const [name, fn] of Object.entries(cases)) {
  if (ONLY && !name.includes(ONLY)) continue;
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e && e.message).split('\n')[0]}`);
    if (currentPage) {
      await currentPage.screenshot({ path: join(OUT, `failed-${name}.png`), fullPage: true }).catch(() => {});
      const r = await currentPage.locator('#result').textContent().catch(() => '');
      if (r) console.log(`     page result: ${r}`);
    }
  }
}
await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed (screenshots in ${OUT})`);
process.exit(failed ? 1 : 0);
