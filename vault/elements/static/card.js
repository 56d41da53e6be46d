/*
 * Hosted card fields (runs on the vault's origin, inside the merchant's
 * iframe). The card number, expiry and CVC never leave this frame except in
 * the POST /v1/tokens request to this same origin; the parent page receives
 * the token and brand, last4 and expiry only.
 *
 * postMessage with exact origins on both sides: the parent's origin is the
 * `origin` query parameter, which the vault checked against the merchant's
 * registered origins and put in this page's CSP frame-ancestors, so the
 * browser only renders this page inside that origin. Messages go to exactly
 * that origin, and only messages from window.parent with that origin are read.
 */
(function () {
  'use strict';
  var q = new URLSearchParams(window.location.search);
  var PK = q.get('pk') || '';
  var PARENT = q.get('origin') || '';
  var $ = function (id) { return document.getElementById(id); };
  var number = $('number'), exp = $('exp'), cvc = $('cvc'), brandEl = $('brand'), errEl = $('error');
  var touched = { number: false, exp: false, cvc: false };
  var busy = false;

  function post(msg) {
    if (window.parent !== window && PARENT) window.parent.postMessage(msg, PARENT);
  }

  /* ---- card rules ---- */
  /* The vault's IIN table (vault/tokens/vault_card.c), for display and
   * completeness only (the vault decides): [brand, lo, hi, prefix digits];
   * the matching row with the longest prefix wins. */
  var IIN = [
    ['visa', 4, 4, 1], ['mastercard', 51, 55, 2], ['mastercard', 2221, 2720, 4],
    ['amex', 34, 34, 2], ['amex', 37, 37, 2],
    ['discover', 6011, 6011, 4], ['discover', 644, 649, 3], ['discover', 65, 65, 2],
    ['jcb', 3528, 3589, 4],
    ['diners', 300, 305, 3], ['diners', 3095, 3095, 4], ['diners', 36, 36, 2], ['diners', 38, 39, 2],
    ['unionpay', 62, 62, 2], ['unionpay', 8100, 8171, 4],
    ['maestro', 5018, 5018, 4], ['maestro', 5020, 5020, 4], ['maestro', 5038, 5038, 4],
    ['maestro', 5893, 5893, 4], ['maestro', 6304, 6304, 4], ['maestro', 6759, 6759, 4],
    ['maestro', 6761, 6763, 4], ['mir', 2200, 2204, 4],
    ['elo', 401178, 401179, 6], ['elo', 431274, 431274, 6], ['elo', 438935, 438935, 6],
    ['elo', 451416, 451416, 6], ['elo', 457393, 457393, 6], ['elo', 457631, 457632, 6],
    ['elo', 504175, 504175, 6], ['elo', 506699, 506778, 6], ['elo', 509000, 509999, 6],
    ['elo', 627780, 627780, 6], ['elo', 636297, 636297, 6], ['elo', 636368, 636368, 6],
    ['elo', 650031, 650033, 6], ['elo', 650035, 650051, 6], ['elo', 650405, 650439, 6],
    ['elo', 650485, 650538, 6], ['elo', 650541, 650598, 6], ['elo', 650700, 650718, 6],
    ['elo', 650720, 650727, 6], ['elo', 650901, 650978, 6], ['elo', 651652, 651679, 6],
    ['elo', 655000, 655019, 6], ['elo', 655021, 655058, 6],
    ['hipercard', 606282, 606282, 6], ['hipercard', 384100, 384100, 6],
    ['hipercard', 384140, 384140, 6], ['hipercard', 384160, 384160, 6],
    ['troy', 9792, 9792, 4],
    ['verve', 506099, 506198, 6], ['verve', 507865, 507964, 6], ['verve', 650002, 650027, 6],
    ['rupay', 60, 60, 2], ['rupay', 508, 508, 3], ['rupay', 652150, 653149, 6], ['rupay', 81, 82, 2]
  ];
  function span(a, b) { var r = []; for (var i = a; i <= b; i++) r.push(i); return r; }
  /* brand: [digit groups, lengths, CVC length, Luhn check digit required] */
  var RULES = {
    visa: [[4, 4, 4, 4], [13, 16, 18, 19], 3, true],
    mastercard: [[4, 4, 4, 4], [16], 3, true],
    amex: [[4, 6, 5], [15], 4, true],
    discover: [[4, 4, 4, 4], span(16, 19), 3, true],
    jcb: [[4, 4, 4, 4], span(16, 19), 3, true],
    diners: [[4, 6, 4], span(14, 19), 3, true],
    unionpay: [[4, 4, 4, 4], span(16, 19), 3, false],
    maestro: [[4, 4, 4, 4], span(12, 19), 3, true],
    mir: [[4, 4, 4, 4], span(16, 19), 3, true],
    elo: [[4, 4, 4, 4], [16], 3, true],
    hipercard: [[4, 4, 4, 4], [16, 19], 3, true],
    troy: [[4, 4, 4, 4], [16], 3, true],
    verve: [[4, 4, 4, 4], [16, 18, 19], 3, true],
    rupay: [[4, 4, 4, 4], [16], 3, true],
    unknown: [[4, 4, 4, 4], span(13, 19), 3, true]
  };
  /* [name, (unused), groups, lengths, CVC length, Luhn required] */
  function brandOf(d) {
    var best = null;
    for (var i = 0; i < IIN.length; i++) {
      var r = IIN[i], p;
      if (d.length < r[3] || (best && r[3] <= best[3])) continue;
      p = parseInt(d.slice(0, r[3]), 10);
      if (p >= r[1] && p <= r[2]) best = r;
    }
    var name = best ? best[0] : 'unknown', k = RULES[name];
    return [name, null, k[0], k[1], k[2], k[3]];
  }
  function digits(s) { return s.replace(/\D/g, ''); }
  /* ISO/IEC 7812-1 Annex B */
  function luhn(d) {
    var sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = d.charCodeAt(d.length - 1 - i) - 48;
      if (i % 2 === 1) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return d.length > 0 && sum % 10 === 0;
  }
  function numberOk(d, b) { return b[3].indexOf(d.length) >= 0 && (!b[5] || luhn(d)); }
  function formatNumber(d, b) {
    var out = [], pos = 0, groups = b[2].slice();
    while (pos < d.length) {
      var g = groups.length ? groups.shift() : 4;
      out.push(d.slice(pos, pos + g)); pos += g;
    }
    return out.join(' ');
  }
  function parseExp(v) {
    var d = digits(v);
    if (d.length < 3) return null;
    var m = parseInt(d.slice(0, 2), 10), y = d.slice(2);
    if (y.length !== 2 && y.length !== 4) return null;
    return { month: m, year: y.length === 2 ? 2000 + parseInt(y, 10) : parseInt(y, 10) };
  }

  /* The first problem, as {field, code, message}, or null. final: on submit. */
  function validate(final) {
    var d = digits(number.value), b = brandOf(d), e = parseExp(exp.value), c = digits(cvc.value);
    var now = new Date();
    var maxLen = Math.max.apply(null, b[3]);
    if (d.length === 0) {
      if (final) return { field: 'number', code: 'incomplete_number', message: 'Your card number is incomplete.' };
    } else if (numberOk(d, b)) {
      /* complete and valid */
    } else if (d.length >= maxLen || (b[3].indexOf(d.length) >= 0 && (final || touched.number))) {
      return { field: 'number', code: 'incorrect_number', message: 'Your card number is invalid.' };
    } else if (final || touched.number) {
      return { field: 'number', code: 'incomplete_number', message: 'Your card number is incomplete.' };
    }
    if (exp.value.length > 0 || final) {
      if (!e) {
        if (final || touched.exp) return { field: 'exp', code: 'incomplete_expiry', message: "Your card's expiration date is incomplete." };
      } else if (e.month < 1 || e.month > 12) {
        return { field: 'exp', code: 'invalid_expiry_month', message: "Your card's expiration month is invalid." };
      } else if (e.year < now.getFullYear() || (e.year === now.getFullYear() && e.month < now.getMonth() + 1)) {
        return { field: 'exp', code: 'invalid_expiry_year_past', message: "Your card's expiration date is in the past." };
      } else if (e.year > now.getFullYear() + 50) {
        return { field: 'exp', code: 'invalid_expiry_year', message: "Your card's expiration year is invalid." };
      }
    }
    if (c.length > 0 || final) {
      if (c.length < b[4] && (final || touched.cvc)) return { field: 'cvc', code: 'incomplete_cvc', message: "Your card's security code is incomplete." };
      if (c.length > b[4]) return { field: 'cvc', code: 'invalid_cvc', message: "Your card's security code is invalid." };
    }
    return null;
  }

  function show(err) {
    [number, exp, cvc].forEach(function (el) { el.setAttribute('aria-invalid', 'false'); });
    errEl.textContent = err ? err.message : '';
    if (err) $(err.field).setAttribute('aria-invalid', 'true');
  }

  function complete() {
    var d = digits(number.value), b = brandOf(d), e = parseExp(exp.value);
    return numberOk(d, b) && !!e && digits(cvc.value).length === b[4] && !validate(true);
  }

  function changed() {
    var d = digits(number.value), b = brandOf(d);
    var err = validate(false);
    brandEl.textContent = d.length ? (b[0] === 'unknown' ? '' : b[0]) : '';
    show(err);
    post({ sr: 'change', brand: d.length ? b[0] : 'unknown', empty: !d && !exp.value && !cvc.value,
           complete: complete(), error: err ? { code: err.code, message: err.message, field: err.field } : null });
  }

  number.addEventListener('input', function () {
    var d = digits(number.value).slice(0, 19), b = brandOf(d);
    var f = formatNumber(d, b);
    if (f !== number.value) number.value = f;
    if (numberOk(d, b) && d.length === Math.max.apply(null, b[3])) exp.focus();
    changed();
  });
  exp.addEventListener('input', function (ev) {
    var d = digits(exp.value).slice(0, 4);
    if (d.length === 1 && d > '1') d = '0' + d;
    var deleting = ev.inputType && ev.inputType.indexOf('delete') === 0;
    exp.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + ' / ' + d.slice(2) : d;
    if (d.length === 4) cvc.focus();
    changed();
  });
  cvc.addEventListener('input', function () {
    var d = digits(cvc.value).slice(0, 4);
    if (d !== cvc.value) cvc.value = d;
    changed();
  });
  ['number', 'exp', 'cvc'].forEach(function (k) {
    $(k).addEventListener('blur', function () { touched[k] = true; changed(); });
    $(k).addEventListener('focus', function () { post({ sr: 'focus' }); });
  });
  $('card').addEventListener('submit', function (ev) { ev.preventDefault(); });

  /* ---- styling from the merchant (a short allowlist of properties) ---- */
  var STYLE_OK = { fontSize: /^\d{1,2}(\.\d)?(px|rem|em)$/, color: /^(#[0-9a-fA-F]{3,8}|[a-z]{3,20})$/,
                   fontFamily: /^[\w ,"'-]{1,100}$/, lineHeight: /^\d(\.\d{1,2})?$/ };
  function applyStyle(style) {
    var base = style && style.base;
    if (!base || typeof base !== 'object') return;
    Object.keys(STYLE_OK).forEach(function (k) {
      if (typeof base[k] === 'string' && STYLE_OK[k].test(base[k])) {
        [number, exp, cvc].forEach(function (el) { el.style[k] = base[k]; });
      }
    });
  }

  /* ---- tokenization: straight to the vault, same origin ---- */
  function tokenize(id) {
    var err = validate(true);
    if (err) {
      touched.number = touched.exp = touched.cvc = true;
      show(err);
      post({ sr: 'token', id: id, error: { type: 'validation_error', code: err.code, message: err.message } });
      return;
    }
    if (busy) { post({ sr: 'token', id: id, error: { type: 'validation_error', code: 'busy', message: 'A request is already in progress.' } }); return; }
    busy = true;
    var e = parseExp(exp.value);
    var body = JSON.stringify({ card: { number: digits(number.value), exp_month: e.month, exp_year: e.year, cvc: digits(cvc.value) } });
    fetch('/v1/tokens', { method: 'POST', credentials: 'omit', cache: 'no-store',
                          headers: { 'Authorization': 'Bearer ' + PK, 'Content-Type': 'application/json' }, body: body })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
      .then(function (res) {
        busy = false;
        if (res.status === 201 && res.body && res.body.id) {
          var c = res.body.card || {};
          post({ sr: 'token', id: id, token: { id: res.body.id, object: 'token', created: res.body.created,
                 card: { brand: c.brand, last4: c.last4, exp_month: c.exp_month, exp_year: c.exp_year } } });
        } else {
          var er = (res.body && res.body.error) || {};
          var msg = er.message || 'The card could not be processed.';
          show({ field: er.param === 'cvc' ? 'cvc' : (er.param === 'exp_month' || er.param === 'exp_year') ? 'exp' : 'number', message: msg });
          post({ sr: 'token', id: id, error: { type: er.type || 'api_error', code: er.code || 'error', message: msg } });
        }
      })
      .catch(function () {
        busy = false;
        post({ sr: 'token', id: id, error: { type: 'api_connection_error', code: 'network', message: 'Could not reach the card vault.' } });
      });
  }

  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent || ev.origin !== PARENT) return;
    var m = ev.data;
    if (!m || typeof m !== 'object') return;
    if (m.sr === 'tokenize' && typeof m.id === 'string') tokenize(m.id);
    else if (m.sr === 'style') applyStyle(m.style);
    else if (m.sr === 'focus') number.focus();
    else if (m.sr === 'clear') { number.value = exp.value = cvc.value = ''; touched = { number: false, exp: false, cvc: false }; changed(); }
    else if (m.sr === 'error' && typeof m.message === 'string') show({ field: 'number', message: m.message.slice(0, 200) });
  });

  post({ sr: 'ready' });
})();
