// Validate every API response the integration suite saw against the OpenAPI
// documents (docs/openapi.yaml, docs/openapi-vault.yaml; ADR 0130).
//
//   node tests/openapi/validate.mjs --spec ORIGIN=FILE [--spec ORIGIN=FILE ...] LOG
//
// LOG holds one JSON object a line, written by tests/integration/run.sh's
// `http` helper: {"m": method, "u": URL, "s": status, "h": raw response
// headers, "b": body}. A response whose URL starts with ORIGIN is matched to
// FILE's path template, method and status (OpenAPI 3.0.3, Paths Object:
// concrete paths win over templated ones), then its Content-Type to the
// response's media types and its body to the schema, with Ajv (JSON Schema
// draft-07 plus OpenAPI's `nullable`). Every object schema is made strict
// first: one without `additionalProperties` is validated as if it said
// `additionalProperties: false`, so a field the document does not know fails;
// `allOf` members are merged into one object for that. A request that no
// operation takes is matched to the document's `x-strongroom-unrouted`
// responses (404 for an unknown path, 405 for a method the path does not
// take). A response whose operation, status or media type the document does
// not declare fails too. Responses of other origins are not counted.
//
// Prints each distinct problem with up to 3 examples, then
// "openapi: N responses validated, M failed"; exits 1 if M > 0 or on bad input.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import Ajv from 'ajv';

const args = process.argv.slice(2);
const specs = [];
let logFile = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--spec' && i + 1 < args.length) {
    const a = args[++i], eq = a.indexOf('=');
    if (eq < 1) die(`--spec wants ORIGIN=FILE, got ${a}`);
    specs.push({ origin: a.slice(0, eq).replace(/\/+$/, ''), file: a.slice(eq + 1) });
  } else if (logFile === null) {
    logFile = args[i];
  } else {
    die(`unexpected argument ${args[i]}`);
  }
}
if (specs.length === 0 || logFile === null) die('usage: validate.mjs --spec ORIGIN=FILE [...] LOG');

function die(msg) { console.error(`openapi: ${msg}`); process.exit(2); }

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

// A JSON pointer into the document ("#/components/schemas/Payment").
function deref(doc, ref) {
  if (!ref.startsWith('#/')) die(`only local $ref is supported: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) die(`unresolved $ref ${ref}`);
    node = node[key];
  }
  return node;
}
function resolve(doc, node) {
  for (let depth = 0; node && typeof node === 'object' && typeof node.$ref === 'string'; depth++) {
    if (depth > 32) die('$ref chain too deep');
    node = deref(doc, node.$ref);
  }
  return node;
}

const isObjectSchema = (s) => s.type === 'object' || 'properties' in s;

// The strict copy of a schema: refs inlined, allOf merged, every object
// closed unless it says what else it admits.
function strict(doc, schema, stack = []) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    if (stack.includes(schema.$ref)) die(`recursive schema ${schema.$ref} is not supported`);
    return strict(doc, deref(doc, schema.$ref), [...stack, schema.$ref]);
  }
  let s = { ...schema };
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((p) => strict(doc, p, stack));
    delete s.allOf;
    if (parts.every((p) => isObjectSchema(p) && !p.oneOf && !p.anyOf)) {
      const merged = { type: 'object', properties: {}, required: [] };
      for (const p of [...parts, s]) {
        Object.assign(merged.properties, p.properties || {});
        merged.required.push(...(p.required || []));
        if (p.additionalProperties !== undefined && p.additionalProperties !== false) {
          merged.additionalProperties = p.additionalProperties;
        }
        for (const [k, v] of Object.entries(p)) {
          if (!['type', 'properties', 'required', 'additionalProperties'].includes(k)) merged[k] = v;
        }
      }
      if (merged.required.length === 0) delete merged.required;
      s = merged;
    } else {
      s.allOf = parts;
    }
  }
  for (const k of ['oneOf', 'anyOf']) if (Array.isArray(s[k])) s[k] = s[k].map((p) => strict(doc, p, stack));
  if (s.not) s.not = strict(doc, s.not, stack);
  if (s.items) s.items = strict(doc, s.items, stack);
  if (s.properties) {
    s.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strict(doc, v, stack)]));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    s.additionalProperties = strict(doc, s.additionalProperties, stack);
  }
  if (isObjectSchema(s) && s.additionalProperties === undefined && !s.oneOf && !s.anyOf && !s.allOf) {
    s.additionalProperties = false;
  }
  return s;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
for (const sp of specs) {
  sp.doc = parse(readFileSync(sp.file, 'utf8'));
  if (!sp.doc || typeof sp.doc.paths !== 'object') die(`${sp.file}: no paths`);
  sp.paths = Object.keys(sp.doc.paths).map((tpl) => ({
    tpl,
    params: (tpl.match(/\{[^}]+\}/g) || []).length,
    re: new RegExp('^' + tpl.split(/\{[^}]+\}/).map((x) => x.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+') + '$'),
  })).sort((a, b) => a.params - b.params);
  sp.compiled = new Map();
}

// The (compiled) validator of one media type's schema.
function validatorFor(sp, key, schema) {
  if (!sp.compiled.has(key)) sp.compiled.set(key, ajv.compile(strict(sp.doc, schema)));
  return sp.compiled.get(key);
}

// The last header block curl -D wrote (after any 100 Continue).
function contentType(raw) {
  const blocks = String(raw || '').split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
  const last = blocks.length ? blocks[blocks.length - 1] : '';
  const m = last.match(/^content-type:\s*([^\r\n]*)/im);
  return m ? m[1].split(';')[0].trim().toLowerCase() : null;
}

const isJson = (mt) => mt === 'application/json' || /^application\/[^;]+\+json$/.test(mt);

function check(sp, rec, pathname) {
  const method = rec.m.toLowerCase();
  const status = String(rec.s);
  const match = sp.paths.find((p) => p.re.test(pathname));
  let op = null, where;
  if (match) {
    const item = resolve(sp.doc, sp.doc.paths[match.tpl]);
    op = item[method] || (method === 'head' ? item.get : null);
    where = `${rec.m} ${match.tpl}`;
  } else {
    where = `${rec.m} (no path of the document)`;
  }
  let responses;
  if (op) {
    responses = op.responses || {};
  } else {
    responses = sp.doc['x-strongroom-unrouted'] || {};
    if (match) where = `${rec.m} ${match.tpl} (no such operation)`;
  }
  const resp = responses[status] || responses[status[0] + 'XX'] || responses.default;
  if (!resp) return [where, `status ${status} not declared`];
  const r = resolve(sp.doc, resp);
  const content = r.content || {};
  const mt = contentType(rec.h);
  const body = rec.b ?? '';
  if (Object.keys(content).length === 0) {
    return body.length === 0 || method === 'head' ? null : [`${where} ${status}`, 'a body where the document declares none'];
  }
  if (method === 'head') return null;
  const key = mt && (content[mt] ? mt : Object.keys(content).find((k) => k.endsWith('/*') && mt.startsWith(k.slice(0, -1)) || k === '*/*'));
  if (!key) return [`${where} ${status}`, `media type ${mt || '(none)'} not declared (${Object.keys(content).join(', ')})`];
  const schema = content[key].schema;
  if (!schema) return null;
  let value = body;
  if (isJson(key)) {
    try { value = JSON.parse(body); } catch { return [`${where} ${status}`, 'body is not JSON']; }
  }
  const v = validatorFor(sp, `${match ? match.tpl : '-'} ${method} ${status} ${key}`, schema);
  if (v(value)) return null;
  const e = v.errors[0];
  const extra = e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : '';
  return [`${where} ${status}`, `${e.instancePath || '(root)'} ${e.message}${extra}`];
}

let validated = 0, failed = 0, skipped = 0;
const problems = new Map();
const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.length > 0);
for (const line of lines) {
  let rec;
  try { rec = JSON.parse(line); } catch { die(`${logFile}: a line is not JSON`); }
  let url;
  try { url = new URL(rec.u); } catch { skipped++; continue; }
  const sp = specs.find((x) => `${url.protocol}//${url.host}` === x.origin);
  if (!sp || !/^[0-9]{3}$/.test(String(rec.s)) || rec.s === '000') { skipped++; continue; }
  validated++;
  const p = check(sp, rec, url.pathname);
  if (!p) continue;
  failed++;
  const k = `${p[0]}: ${p[1]}`;
  if (!problems.has(k)) problems.set(k, { n: 0, examples: [] });
  const e = problems.get(k);
  e.n++;
  // Long digit runs masked: an attack test's path may hold a test card number.
  const path = url.pathname.replace(/[0-9][0-9 %-]{10,}[0-9]/g, '[digits]');
  if (e.examples.length < 3) e.examples.push(`${rec.m} ${path}${url.search ? '?…' : ''} -> ${String(rec.b ?? '').slice(0, 300)}`);
}
for (const [k, e] of problems) {
  console.log(`    ✗ ${k} (${e.n} response${e.n > 1 ? 's' : ''})`);
  for (const x of e.examples) console.log(`        ${x}`);
}
console.log(`openapi: ${validated} responses validated, ${failed} failed (${problems.size} distinct problems; ${skipped} of other origins not counted)`);
process.exit(failed > 0 ? 1 : 0);
