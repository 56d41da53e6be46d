#!/usr/bin/env node
/*
 * Example merchant checkout for Strongroom (issue 6): a page that embeds the
 * vault's card fields with strongroom.js, and a small server that receives
 * only the token, pays with it at the gateway using the merchant's secret key
 * and shows the result. Node.js standard library only.
 *
 *   node examples/checkout/server.mjs [--env var/dev.env] [--port N] [--log FILE]
 *
 * It reads STRONGROOM_PK, STRONGROOM_SK, STRONGROOM_CA, GATEWAY_URL, VAULT_URL,
 * PSP_CHALLENGE_URL and CHECKOUT_PORT from the env file (make up writes it).
 * The published SRI hash of strongroom.js is read from
 * vault/elements/static/strongroom.js.sri (also in README.md).
 *
 * Every request it receives is logged as one JSON line (method, path, body),
 * so that tests can check that the merchant's server never sees a card number.
 */
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync, appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 && args[i + 1] ? args[i + 1] : dflt; };

function readEnv(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(?:export )?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}
const ENV = readEnv(opt('--env', join(ROOT, 'var', 'dev.env')));
for (const k of ['STRONGROOM_PK', 'STRONGROOM_SK', 'STRONGROOM_CA', 'GATEWAY_URL', 'VAULT_URL']) {
  if (!ENV[k]) { console.error(`checkout: ${k} missing from the env file`); process.exit(1); }
}
const PORT = Number(opt('--port', ENV.CHECKOUT_PORT || '8450'));
const LOG = opt('--log', '');
const CA = readFileSync(ENV.STRONGROOM_CA);
const SRI = readFileSync(join(ROOT, 'vault', 'elements', 'static', 'strongroom.js.sri'), 'utf8').trim();
const VAULT = new URL(ENV.VAULT_URL).origin;
const CHALLENGE = ENV.PSP_CHALLENGE_URL ? new URL(ENV.PSP_CHALLENGE_URL).origin : '';
const PAGE = readFileSync(join(HERE, 'public', 'index.html'), 'utf8');
const SCRIPT = readFileSync(join(HERE, 'public', 'checkout.js'));
const STYLE = readFileSync(join(HERE, 'public', 'checkout.css'));

function log(obj) {
  const line = JSON.stringify({ ts: new Date().toISOString(), ...obj });
  console.log(line);
  if (LOG) appendFileSync(LOG, line + '\n');
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/* The merchant's server talks to the gateway with its secret key (never the browser). */
function gateway(method, path, body) {
  const url = new URL(path, ENV.GATEWAY_URL);
  const data = body ? JSON.stringify(body) : null;
  const headers = { Authorization: `Bearer ${ENV.STRONGROOM_SK}` };
  if (data) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(data);
    headers['Idempotency-Key'] = 'checkout-' + randomBytes(12).toString('hex');
  }
  log({ event: 'gateway.request', method, path, body: body || null });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: CA, timeout: 30000 }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { buf += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(buf); } catch { /* not JSON */ }
        log({ event: 'gateway.response', status: res.statusCode, body: json });
        resolve({ status: res.statusCode, body: json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('gateway timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/* What the page needs of a payment (no card data exists here anyway). */
function view(p) {
  if (!p || typeof p !== 'object') return { error: { message: 'No answer from the gateway.' } };
  if (p.error) return { error: { type: p.error.type, code: p.error.code, message: p.error.message } };
  return { id: p.id, status: p.status, amount: p.amount, currency: p.currency,
           failure_code: p.failure_code || null, failure_message: p.failure_message || null,
           next_action: p.next_action || null };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(body);
}
const json = (res, status, obj) => send(res, status, 'application/json', JSON.stringify(obj));

async function handle(req, res, body) {
  const url = new URL(req.url, `http://${req.headers.host || 'localhost'}`);
  let parsed = null;
  if (body.length) { try { parsed = JSON.parse(body); } catch { parsed = body; } }
  log({ event: 'request', method: req.method, path: url.pathname + url.search, origin: req.headers.origin || null, body: parsed });

  if (req.method === 'GET' && url.pathname === '/') {
    const html = PAGE.replaceAll('{{VAULT}}', esc(VAULT)).replaceAll('{{SRI}}', esc(SRI))
      .replaceAll('{{CONFIG}}', JSON.stringify({ pk: ENV.STRONGROOM_PK }).replace(/</g, '\\u003c'));
    /* The merchant's own CSP: scripts from itself and the vault only (PCI DSS 6.4.3). */
    const csp = `default-src 'self'; script-src 'self' ${VAULT}; frame-src ${VAULT}${CHALLENGE ? ' ' + CHALLENGE : ''}; ` +
                `connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'`;
    return send(res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': csp });
  }
  if (req.method === 'GET' && url.pathname === '/checkout.js') return send(res, 200, 'text/javascript; charset=utf-8', SCRIPT);
  if (req.method === 'GET' && url.pathname === '/checkout.css') return send(res, 200, 'text/css; charset=utf-8', STYLE);
  if (req.method === 'POST' && url.pathname === '/api/pay') {
    const token = parsed && typeof parsed.token === 'string' ? parsed.token : '';
    if (!/^tok_[0-9A-Za-z]{10,64}$/.test(token)) return json(res, 400, { error: { message: 'A token is required.' } });
    const r = await gateway('POST', '/v1/payments', { amount: 2000, currency: 'usd', payment_method: token, capture_method: 'automatic' });
    return json(res, r.status >= 500 ? 502 : 200, view(r.body));
  }
  const m = /^\/api\/payments\/(pay_[0-9A-Za-z]{8,64})$/.exec(url.pathname);
  if (req.method === 'GET' && m) {
    /* After 3-D Secure: ask the gateway again, a few times while it settles. */
    let r = null;
    for (let i = 0; i < 30; i++) {
      r = await gateway('GET', `/v1/payments/${m[1]}`);
      if (!r.body || !['processing', 'requires_action'].includes(r.body.status)) break;
      await sleep(300);
    }
    return json(res, r.status === 404 ? 404 : 200, view(r.body));
  }
  return send(res, 404, 'text/plain', 'not found\n');
}

const server = createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => { size += c.length; if (size > 16384) req.destroy(); else chunks.push(c); });
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
      log({ event: 'error', message: String(e && e.message) });
      if (!res.headersSent) json(res, 502, { error: { message: 'The payment service is unavailable.' } });
    });
  });
});
server.listen(PORT, '127.0.0.1', () => {
  log({ event: 'listening', url: `http://localhost:${PORT}/` });
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
