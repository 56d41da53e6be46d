/*
 * strongroom.js: card fields for a merchant's checkout page, served by the
 * Strongroom vault. The card number, expiry and CVC are typed into an iframe
 * served by the vault's origin and sent by it straight to the vault; this page
 * only receives a token ("tok_...") and brand, last4 and expiry (PCI DSS v4.0
 * SAQ A). Include it with its Subresource Integrity hash (PCI DSS 6.4.3):
 *
 *   <script src="https://VAULT/v1/strongroom.js" integrity="sha384-..." crossorigin="anonymous"></script>
 *   const sr = Strongroom('pk_test_...');
 *   const card = sr.elements().create('card', { style: { base: { fontSize: '16px' } } });
 *   card.mount('#card');
 *   card.on('change', e => { ... e.complete, e.brand, e.error ... });
 *   const { token, error } = await sr.createToken(card);
 *   const { error: e3ds } = await sr.handleNextAction(payment);   // 3-D Secure
 *
 * Plain JavaScript, no dependencies. Messages to the iframe go to the vault's
 * origin exactly, and only messages from that iframe's window with that origin
 * are accepted.
 */
(function (global) {
  'use strict';
  var script = document.currentScript;
  var VAULT = script && script.src ? new URL(script.src).origin : '';
  var seq = 0;

  function uid() { seq += 1; return 'sr' + Date.now().toString(36) + seq; }

  function CardElement(sr, options) {
    this._sr = sr;
    this._options = options || {};
    this._handlers = {};
    this._frame = null;
    this._ready = false;
    this._queue = [];
    this._pending = {};
    this._onMessage = this._receive.bind(this);
  }
  CardElement.prototype.mount = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw new Error('Strongroom: mount target not found');
    if (this._frame) throw new Error('Strongroom: element already mounted');
    var f = document.createElement('iframe');
    f.src = VAULT + '/v1/elements/card?pk=' + encodeURIComponent(this._sr._pk) +
            '&origin=' + encodeURIComponent(window.location.origin);
    f.title = 'Secure card payment input';
    f.name = 'strongroom-card-' + uid();
    f.setAttribute('frameborder', '0');
    f.setAttribute('scrolling', 'no');
    f.setAttribute('allowtransparency', 'true');
    f.style.border = 'none';
    f.style.width = '100%';
    f.style.height = '128px';
    f.style.display = 'block';
    f.style.colorScheme = 'normal';
    this._frame = f;
    window.addEventListener('message', this._onMessage);
    host.appendChild(f);
    var self = this;
    this._loadTimer = setTimeout(function () {
      if (!self._ready) self._emit('loaderror', { error: { type: 'api_connection_error', code: 'fields_unavailable',
        message: 'The card fields could not be loaded for this page.' } });
    }, 8000);
    return this;
  };
  CardElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };
  CardElement.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).forEach(function (h) { try { h(payload); } catch (e) { setTimeout(function () { throw e; }); } });
  };
  CardElement.prototype._send = function (msg) {
    if (!this._ready) { this._queue.push(msg); return; }
    this._frame.contentWindow.postMessage(msg, VAULT);
  };
  CardElement.prototype._receive = function (ev) {
    if (!this._frame || ev.source !== this._frame.contentWindow || ev.origin !== VAULT) return;
    var m = ev.data;
    if (!m || typeof m !== 'object' || typeof m.sr !== 'string') return;
    if (m.sr === 'ready') {
      this._ready = true;
      clearTimeout(this._loadTimer);
      if (this._options.style) this._frame.contentWindow.postMessage({ sr: 'style', style: this._options.style }, VAULT);
      var q = this._queue; this._queue = [];
      for (var i = 0; i < q.length; i++) this._frame.contentWindow.postMessage(q[i], VAULT);
      this._emit('ready', {});
    } else if (m.sr === 'change') {
      this._emit('change', { elementType: 'card', complete: !!m.complete, empty: !!m.empty,
                             brand: String(m.brand || 'unknown'), error: m.error || undefined });
    } else if (m.sr === 'focus') {
      this._emit('focus', {});
    } else if (m.sr === 'token' && typeof m.id === 'string' && this._pending[m.id]) {
      var resolve = this._pending[m.id];
      delete this._pending[m.id];
      resolve(m.error ? { error: m.error } : { token: m.token });
    }
  };
  CardElement.prototype.focus = function () { this._send({ sr: 'focus' }); };
  CardElement.prototype.clear = function () { this._send({ sr: 'clear' }); };
  /* Show a message (e.g. a decline from the payment) in the card field's error line. */
  CardElement.prototype.showError = function (message) { this._send({ sr: 'error', message: String(message) }); };
  CardElement.prototype.destroy = function () {
    window.removeEventListener('message', this._onMessage);
    if (this._frame && this._frame.parentNode) this._frame.parentNode.removeChild(this._frame);
    this._frame = null;
  };
  CardElement.prototype._tokenize = function () {
    var self = this, id = uid();
    return new Promise(function (resolve) {
      if (!self._frame) { resolve({ error: { type: 'invalid_request_error', code: 'not_mounted', message: 'The card element is not mounted.' } }); return; }
      var timer = setTimeout(function () {
        if (self._pending[id]) { delete self._pending[id]; resolve({ error: { type: 'api_connection_error', code: 'timeout', message: 'The card vault did not answer.' } }); }
      }, 30000);
      self._pending[id] = function (r) { clearTimeout(timer); resolve(r); };
      self._send({ sr: 'tokenize', id: id });
    });
  };

  function Elements(sr) { this._sr = sr; }
  Elements.prototype.create = function (type, options) {
    if (type !== 'card') throw new Error('Strongroom: unsupported element type ' + type);
    return new CardElement(this._sr, options);
  };

  function Strongroom(pk, options) {
    if (!(this instanceof Strongroom)) return new Strongroom(pk, options);
    if (typeof pk !== 'string' || pk.indexOf('pk_') !== 0) throw new Error('Strongroom: a publishable key (pk_...) is required');
    if (!VAULT) throw new Error('Strongroom: load strongroom.js from the vault with a <script src>');
    this._pk = pk;
  }
  Strongroom.prototype.elements = function () { return new Elements(this); };
  /* Resolves {token} or {error}; never rejects. */
  Strongroom.prototype.createToken = function (element) {
    if (!(element instanceof CardElement)) return Promise.resolve({ error: { type: 'invalid_request_error', code: 'element_required', message: 'Pass the card element.' } });
    return element._tokenize();
  };

  /*
   * 3-D Secure: when a payment is requires_action with next_action
   * redirect_to_url, open the issuer's challenge in a modal frame and resolve
   * when the challenge page reports completion ({ status }) or the customer
   * closes it ({ error }). The merchant's server then re-checks the payment.
   * The challenge page learns this page's origin from the URL fragment and
   * posts its result to it; we accept it only from that frame and that origin.
   */
  Strongroom.prototype.handleNextAction = function (payment) {
    var na = payment && payment.next_action;
    var url = na && na.type === 'redirect_to_url' && na.redirect_to_url && na.redirect_to_url.url;
    return new Promise(function (resolve) {
      var u;
      try { u = new URL(url); } catch (e) { u = null; }
      if (!u || u.protocol !== 'https:') { resolve({ error: { type: 'invalid_request_error', code: 'no_next_action', message: 'This payment needs no further action.' } }); return; }
      var overlay = document.createElement('div');
      overlay.setAttribute('role', 'dialog');
      overlay.setAttribute('aria-modal', 'true');
      overlay.setAttribute('aria-label', 'Card authentication');
      overlay.className = 'strongroom-3ds';
      var s = overlay.style;
      s.position = 'fixed'; s.inset = '0'; s.background = 'rgba(0,0,0,.45)'; s.zIndex = '2147483647';
      s.display = 'flex'; s.alignItems = 'center'; s.justifyContent = 'center';
      var box = document.createElement('div');
      box.style.background = '#fff'; box.style.borderRadius = '8px'; box.style.padding = '8px';
      var f = document.createElement('iframe');
      f.title = 'Card authentication (3-D Secure)';
      f.name = 'strongroom-3ds';
      f.style.width = '420px'; f.style.height = '360px'; f.style.border = 'none'; f.style.display = 'block';
      f.src = u.href.split('#')[0] + '#origin=' + encodeURIComponent(window.location.origin);
      var close = document.createElement('button');
      close.type = 'button'; close.textContent = 'Cancel';
      close.style.marginTop = '6px';
      box.appendChild(f); box.appendChild(close); overlay.appendChild(box);
      function done(result) {
        window.removeEventListener('message', onMessage);
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        resolve(result);
      }
      function onMessage(ev) {
        if (ev.source !== f.contentWindow || ev.origin !== u.origin) return;
        var m = ev.data;
        if (m && typeof m === 'object' && m.sr3ds === 'complete') done({ status: String(m.status || 'complete') });
      }
      close.addEventListener('click', function () { done({ error: { type: 'card_error', code: 'authentication_canceled', message: 'The authentication was canceled.' } }); });
      window.addEventListener('message', onMessage);
      document.body.appendChild(overlay);
    });
  };

  global.Strongroom = Strongroom;
})(window);
