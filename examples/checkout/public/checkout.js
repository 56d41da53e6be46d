/* Example merchant page: card fields from the vault, token to our server. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('sr-config').textContent);
  var form = document.getElementById('pay-form');
  var button = document.getElementById('pay');
  var errors = document.getElementById('card-errors');
  var result = document.getElementById('result');

  var sr = Strongroom(cfg.pk);
  var card = sr.elements().create('card', { style: { base: { fontSize: '16px' } } });
  card.mount('#card');
  /* The card fields show their own validation errors; we only keep the code. */
  card.on('change', function (e) { errors.dataset.code = e.error ? e.error.code : ''; errors.textContent = ''; });
  card.on('loaderror', function (e) { errors.textContent = e.error.message; button.disabled = true; });

  function status(s, text) { result.dataset.status = s; result.textContent = text; }
  function api(method, path, body) {
    return fetch(path, { method: method, headers: body ? { 'Content-Type': 'application/json' } : {},
                         body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json(); });
  }
  function show(p, brand) {
    if (p.error) { status('error', p.error.message); errors.textContent = p.error.message; return; }
    if (p.status === 'captured' || p.status === 'authorized') {
      status(p.status, 'Payment ' + p.status + ': ' + p.id + (brand ? ' (' + brand + ')' : ''));
    } else if (p.status === 'failed') {
      var msg = p.failure_message || 'Your card was declined.';
      status('failed', 'Payment failed: ' + (p.failure_code || 'error'));
      card.showError(msg);  /* shown in the card field */
    } else {
      status(p.status || 'unknown', 'Payment ' + p.id + ' is ' + p.status + '.');
    }
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    button.disabled = true;
    errors.textContent = '';
    status('processing', 'Processing…');
    var brand = '';
    sr.createToken(card).then(function (r) {
      if (r.error) {
        status('', '');
        /* Validation errors are already shown in the field. */
        if (r.error.type !== 'validation_error') errors.textContent = r.error.message;
        return null;
      }
      brand = r.token.card.brand + ' •••• ' + r.token.card.last4;
      /* Only the token goes to our server. */
      return api('POST', '/api/pay', { token: r.token.id });
    }).then(function (p) {
      if (!p) return null;
      if (p.status !== 'requires_action') return show(p, brand);
      status('requires_action', 'Your bank asks you to confirm this payment…');
      return sr.handleNextAction(p).then(function (a) {
        if (a.error) { status('failed', a.error.message); errors.textContent = a.error.message; return null; }
        result.dataset.authentication = a.status;
        return api('GET', '/api/payments/' + encodeURIComponent(p.id)).then(function (p2) {
          if (p2.status === 'requires_action') {
            /* The challenge is done; the gateway has not moved the payment on yet. */
            status('authenticated', 'Authentication complete (' + a.status + '); payment ' + p2.id + ' awaits confirmation.');
            return null;
          }
          return show(p2, brand);
        });
      });
    }).catch(function () {
      status('error', 'Something went wrong. Please try again.');
    }).then(function () { button.disabled = false; });
  });
})();
