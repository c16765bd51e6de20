// supporthost co-browse: runs in the company's page, loaded by the WebACD snippet.
// It connects the page to the customer's support session, asks the customer before a rep may see or control
// the page, records the page with rrweb (private fields masked here, in the page) and applies the rep's
// clicks and typing in control mode. One global: window.SupportHostCobrowse. Nothing throws into the page.
(function () {
  "use strict";
  if (window.SupportHostCobrowse) return;

  var STORE = "supporthost.cobrowse";
  var VERSION = "1";
  var BATCH_MS = 40;                        // events go out in batches this often
  // sizes are UTF-8 bytes on the wire (what the host counts), not JavaScript string lengths
  var FRAME_MAX = 2 * 1024 * 1024;          // a batch frame (a lone big event may take up to EVENT_MAX)
  var EVENT_MAX = 7 * 1024 * 1024;          // one frame with a full snapshot (the host takes up to 8 MiB)
  var PENDING_MAX = 12 * 1024 * 1024;       // what waits for a slow socket before it is dropped
  var SOCKET_BUSY = 1024 * 1024;            // bytes the browser still holds unsent: wait before sending more
  var WAITING_RETRY_MS = 5000;              // 4404: the customer still waits in the queue
  var WAITING_GIVE_UP_MS = 2 * 3600 * 1000;
  var PRIVATE = "[data-supporthost-private],.supporthost-private";
  var BLOCKED = "[data-supporthost-private=block],.rr-block";
  var PUBLIC = "[data-supporthost-public],.supporthost-public";
  var TEXT_TYPES = /^(text|search|email|url|tel|number|date|datetime-local|month|week|time|color|range|)$/;
  var CHECKABLE = ["input[type=checkbox]", "input[type=radio]"];
  var NON_ASCII = /[^\x00-\x7f]/;

  var script = document.currentScript ||
    [].slice.call(document.querySelectorAll("script[src*='/p/cobrowse/page.js']")).pop();
  if (!script) return;
  var base = script.src.replace(/\/page\.js(\?.*)?$/, "");   // https://host/s/<site>/p/cobrowse
  var hostOrigin = new URL(base).origin;
  var rrwebUrl = hostOrigin + "/static/lib/rrweb/rrweb.min.js";

  var ws = null;            // the page socket
  var accepted = false;     // the host took this socket's hello (it answered with a new key)
  var retryTimer = null;
  var failures = 0;         // connection failures in a row (not 4404)
  var waitingSince = 0;
  var settings = { privateSel: [], publicSel: [], privateByDefault: false };
  var rr = null;            // the rrweb library once loaded
  var rrLoading = null;     // callbacks waiting for it
  var stopRecording = null;
  var mode = null;          // null (off), "view" or "control"
  var rep = "";
  var pending = [];         // serialized events waiting for the socket
  var pendingBytes = 0;
  var flushTimer = null;
  var resnapshot = false;   // events were dropped: send a fresh full snapshot once the socket drains
  var nextUrl = null;       // where a link or form is taking the customer
  var ui = null;

  function guard(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (err) { note("error", err); }
    };
  }
  function note() {
    try { if (window.console && console.debug) console.debug.apply(console, ["supporthost co-browse:"].concat([].slice.call(arguments))); } catch (e) { /* no console */ }
  }

  // -- the key the snippet made when the customer asked for help (sessionStorage of this tab) --
  function readKey() {
    try {
      var rec = JSON.parse(sessionStorage.getItem(STORE) || "null");
      if (rec && typeof rec.key === "string" && rec.key && (!rec.host || rec.host === hostOrigin)) return rec;
    } catch (e) { /* storage off or junk */ }
    return null;
  }
  function storeKey(key) {
    try {
      var rec = readKey() || { host: hostOrigin };
      rec.key = key;
      sessionStorage.setItem(STORE, JSON.stringify(rec));
    } catch (e) { /* storage off */ }
  }
  function forgetKey() {
    try { sessionStorage.removeItem(STORE); } catch (e) { /* storage off */ }
  }

  // -- the page socket --
  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (ws || !readKey()) return;
    var url = base.replace(/^http/, "ws") + "/page-ws";
    var sock;
    try { sock = new WebSocket(url); } catch (e) { return retry(); }
    ws = sock;
    sock.onopen = guard(function () {
      var rec = readKey();
      if (!rec) { sock.close(1000); return; }
      sock.send(JSON.stringify({ t: "hello", key: rec.key, url: location.href, title: document.title }));
    });
    sock.onmessage = guard(function (msg) {
      if (ws !== sock || typeof msg.data !== "string") return;
      var m = JSON.parse(msg.data);
      if (m && typeof m.t === "string" && handlers.hasOwnProperty(m.t)) handlers[m.t](m);
    });
    sock.onclose = guard(function (ev) {
      if (ws !== sock) return;
      ws = null;
      accepted = false;
      endRecording();
      showPrompt(null);
      if (ev.code === 4404) {
        waitingSince = waitingSince || Date.now();
        if (Date.now() - waitingSince < WAITING_GIVE_UP_MS) retryTimer = setTimeout(guard(connect), WAITING_RETRY_MS);
      } else if (ev.code === 4410 || ev.code === 4401) {
        forgetKey();        // the session is over, or the key is dead: nothing to come back to
      } else if (ev.code === 4403 || ev.code === 4409) {
        note("closed:", ev.code, ev.reason);   // refused here, or a newer page of this tab took over
      } else {
        retry();
      }
    });
  }
  function retry() {
    ws = null;
    failures += 1;
    var wait = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
    retryTimer = setTimeout(guard(connect), wait * (0.75 + Math.random() / 2));
  }
  function send(obj) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj));
  }

  var handlers = {
    key: function (m) {
      if (typeof m.key === "string" && m.key) storeKey(m.key);
      accepted = true;
      failures = 0;
      waitingSince = 0;
    },
    settings: function (m) {
      settings = {
        privateSel: validSelectors(m.private_selectors),
        publicSel: validSelectors(m.public_selectors),
        privateByDefault: m.private_by_default === true
      };
    },
    ask: function (m) {
      var askMode = m.mode === "control" ? "control" : "view";
      showPrompt({ mode: askMode, rep: String(m.rep || "A support representative") });
      loadRrweb(function () {});   // be ready when the customer allows
    },
    start: function (m) {
      rep = String(m.rep || rep || "A support representative");
      showPrompt(null);
      startRecording(m.mode === "control" ? "control" : "view");
    },
    mode: function (m) {
      if (!mode) return;
      mode = m.mode === "control" ? "control" : "view";
      if (mode !== "control") showPointer(null);
      drawBanner();
      if (stopRecording && rr) rr.record.takeFullSnapshot(true);   // the host restarts its viewers from it
    },
    snapshot: function () {
      if (stopRecording && rr) rr.record.takeFullSnapshot(true);
    },
    stop: function () {
      showPrompt(null);
      endRecording();
    },
    ctl: function (m) {
      if (mode === "control" && stopRecording && rr) control(m);
    }
  };

  function validSelectors(list) {
    var out = [];
    if (!Array.isArray(list)) return out;
    for (var i = 0; i < list.length && out.length < 200; i++) {
      var sel = String(list[i]).trim();
      if (!sel || sel.length > 500) continue;
      try { document.createDocumentFragment().querySelector(sel); out.push(sel); } catch (e) { note("ignored selector", sel); }
    }
    return out;
  }

  // -- loading rrweb from the host without leaving a global behind --
  function loadRrweb(done) {
    if (rr) return done(rr);
    if (rrLoading) { rrLoading.push(done); return; }
    rrLoading = [done];
    var had = Object.prototype.hasOwnProperty.call(window, "rrweb");
    var before = window.rrweb;
    var tag = document.createElement("script");
    tag.src = rrwebUrl;
    tag.async = true;
    function finish(lib) {
      var waiting = rrLoading || [];
      rrLoading = null;
      rr = lib && lib.record ? lib : null;
      if (tag.parentNode) tag.parentNode.removeChild(tag);
      for (var i = 0; i < waiting.length; i++) guard(waiting[i])(rr);
    }
    tag.onload = guard(function () {
      var lib = window.rrweb;
      if (had) window.rrweb = before; else { try { delete window.rrweb; } catch (e) { window.rrweb = undefined; } }
      if (lib && lib !== before) return finish(lib);
      if (typeof window.define === "function" && window.define.amd && typeof window.require === "function") {
        return window.require(["rrweb"], function (m) { finish(m); }, function () { finish(null); });
      }
      finish(null);
    });
    tag.onerror = guard(function () { finish(null); });
    (document.head || document.documentElement).appendChild(tag);
  }

  // -- privacy: what never leaves the page --
  function matchesAny(el, sels) {
    for (var i = 0; i < sels.length; i++) {
      try { if (el.closest(sels[i])) return true; } catch (e) { /* validated already */ }
    }
    return false;
  }
  function isField(el) {
    if (!el || el.nodeType !== 1) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return !/^(button|submit|reset|image)$/i.test(el.type);
    return el.isContentEditable === true;
  }
  // a field (or anything inside an element) whose content must not leave the page
  function isPrivate(el) {
    if (!el) return true;
    if (el.nodeType !== 1) el = el.parentElement;
    if (!el) return true;
    if (el.closest(PRIVATE) || el.closest(BLOCKED) || matchesAny(el, settings.privateSel)) return true;
    if (!isField(el)) return false;
    if (el.tagName === "INPUT") {
      var type = (el.getAttribute("type") || "").toLowerCase();
      if (type === "password" || type === "hidden" || el.type === "password" || el.type === "hidden") return true;
    }
    if (/^\s*cc-/i.test(el.getAttribute("autocomplete") || "")) return true;
    if (settings.privateByDefault && !(el.closest(PUBLIC) || matchesAny(el, settings.publicSel))) return true;
    return false;
  }
  function maskInput(text, el) {
    try {
      if (!isPrivate(el)) return text;
    } catch (e) { /* when in doubt, mask */ }
    return text ? "********" : "";
  }
  function maskText(text) {
    return text.replace(/\S/g, "*");
  }
  // rrweb masks only text values: a private checkbox or radio button would still tell "ticked". They are
  // blocked instead (rrweb then sends neither their state nor their changes; the rep sees a blank box).
  function privateCheckables() {
    var priv = ":is(" + [PRIVATE].concat(settings.privateSel).join(",") + ")";
    var sels = [];
    for (var i = 0; i < CHECKABLE.length; i++) {
      sels.push(CHECKABLE[i] + priv, priv + " " + CHECKABLE[i]);
      if (settings.privateByDefault) {
        var pub = ":is(" + [PUBLIC].concat(settings.publicSel).join(",") + ")";
        sels.push(CHECKABLE[i] + ":not(" + pub + "):not(" + pub + " *)");
      }
    }
    var sel = sels.join(",");
    try { document.documentElement.matches(sel); return sel; } catch (e) { return CHECKABLE.join(","); }
  }

  // -- recording and sending --
  function startRecording(newMode) {
    mode = newMode;
    drawBanner();
    if (stopRecording) {           // again after a reconnect or a new viewer: one fresh snapshot
      rr.record.takeFullSnapshot(true);
      return;
    }
    loadRrweb(function (lib) {
      if (!mode || stopRecording) return;
      if (!lib) {
        send({ t: "stop", why: "no_recorder" });
        endRecording();
        return;
      }
      var maskSel = [PRIVATE].concat(settings.privateSel).join(",");
      stopRecording = lib.record({
        emit: guard(queueEvent),
        blockClass: "rr-block",
        blockSelector: "[data-supporthost-private=block]," + privateCheckables(),
        ignoreClass: "supporthost-cobrowse-ui",
        maskTextSelector: maskSel,
        maskTextFn: maskText,
        maskInputOptions: { input: true, textarea: true, select: true, password: true },
        maskInputFn: maskInput,
        recordCanvas: false,
        collectFonts: false,
        inlineImages: false,
        recordCrossOriginIframes: false,
        sampling: { mousemove: 50, scroll: 100, media: 800 },
        slimDOMOptions: { script: true, comment: true, headFavicon: true, headMetaSocial: true,
          headMetaRobots: true, headMetaHttpEquiv: true, headMetaVerification: true, headMetaAuthorship: true }
      }) || null;
    });
  }
  function endRecording() {
    if (stopRecording) { try { stopRecording(); } catch (e) { note("stop", e); } }
    stopRecording = null;
    mode = null;
    pending = [];
    pendingBytes = 0;
    resnapshot = false;
    clearTimeout(flushTimer);
    flushTimer = null;
    drawBanner();
    showPointer(null);
  }

  function utf8Bytes(text) {
    if (!NON_ASCII.test(text)) return text.length;
    var n = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }   // a surrogate pair (JSON escapes lone ones)
      else n += 3;
    }
    return n;
  }

  function queueEvent(event) {
    if (!ws || ws.readyState !== 1) return;       // nobody to send to: a reconnect starts with a new snapshot
    if (event.type === 4 || event.type === 2) {   // Meta + full snapshot: everything before it is moot
      if (event.type === 4) { pending = []; pendingBytes = 0; resnapshot = false; }
    } else if (resnapshot) {
      return;                                      // dropped already; the coming snapshot covers it
    }
    var text = JSON.stringify(event);
    var size = utf8Bytes(text);
    if (size > EVENT_MAX) {        // it cannot go out in one frame: say so once (the host tells the rep) and stop
      send({ t: "stop", why: "too_large" });
      endRecording();
      return;
    }
    pending.push({ text: text, type: event.type, size: size });
    pendingBytes += size;
    if (pendingBytes > PENDING_MAX) {              // the socket cannot keep up: drop, catch up later
      pending = [];
      pendingBytes = 0;
      resnapshot = true;
    }
    if (event.type === 2) {                        // a full snapshot goes out at once: a viewer waits for it
      clearTimeout(flushTimer);
      flushTimer = setTimeout(guard(flush), 0);
    } else if (!flushTimer) {
      flushTimer = setTimeout(guard(flush), BATCH_MS);
    }
  }

  function flush() {
    flushTimer = null;
    if (!ws || ws.readyState !== 1 || !mode) return;
    if (ws.bufferedAmount > SOCKET_BUSY) {        // the network is slow: wait, keep the page light
      flushTimer = setTimeout(guard(flush), 100);
      return;
    }
    if (resnapshot && !pending.length) {
      resnapshot = false;
      rr.record.takeFullSnapshot(true);
      return;
    }
    var parts = [];
    var size = 0;
    var limit = FRAME_MAX;
    while (pending.length && (!parts.length || size + pending[0].size <= limit)) {
      var next = pending.shift();
      pendingBytes -= next.size;
      parts.push(next.text);
      size += next.size + 1;
      if (next.type === 4) limit = EVENT_MAX;    // a Meta goes in one frame with the full snapshot after it
      else if (parts.length > 1 || next.type === 2) limit = FRAME_MAX;
    }
    if (parts.length) ws.send('{"t":"ev","e":[' + parts.join(",") + "]}");
    if (pending.length || resnapshot) flushTimer = setTimeout(guard(flush), 0);
  }

  // -- the rep's control events, applied as the page's own events --
  function nodeOf(id) {
    if (typeof id !== "number") return null;
    var node = rr.record.mirror.getNode(id);
    if (!node || !node.isConnected || node.ownerDocument !== document) return null;
    return node.nodeType === 1 ? node : node.parentElement;
  }
  function inOurUi(el) {
    return !!(ui && el && (el === ui.host || ui.host.contains(el)));
  }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : 0; }

  function control(m) {
    if (m.a === "pointer") return showPointer({ x: num(m.x), y: num(m.y) });
    if (m.a === "scroll") return doScroll(m);
    var el = nodeOf(m.id);
    if (!el || inOurUi(el) || isPrivate(el)) return;   // never into a private field, never our own buttons
    if (m.a === "click") doClick(el, num(m.x), num(m.y));
    else if (m.a === "input" || m.a === "select") doInput(el, m.value);
    else if (m.a === "key" && typeof m.key === "string") doKey(el, m.key.slice(0, 32));
  }

  function doScroll(m) {
    var x = num(m.x), y = num(m.y);
    if (m.id === null || m.id === undefined) { window.scrollTo(x, y); return; }
    var el = nodeOf(m.id);
    if (!el) return;
    if (el === document.documentElement || el === document.body) window.scrollTo(x, y);
    else { el.scrollLeft = x; el.scrollTop = y; }
  }

  function mouse(el, type, cx, cy, Ctor) {
    var init = { bubbles: true, cancelable: true, composed: true, view: window, clientX: cx, clientY: cy,
      screenX: cx, screenY: cy, button: 0, buttons: type.indexOf("down") >= 0 ? 1 : 0, detail: 1 };
    if (Ctor === window.PointerEvent) { init.pointerId = 1; init.pointerType = "mouse"; init.isPrimary = true; }
    return el.dispatchEvent(new Ctor(type, init));
  }
  function doClick(el, x, y) {
    var box = el.getBoundingClientRect();
    var cx = box.left + Math.max(0, Math.min(x, box.width)), cy = box.top + Math.max(0, Math.min(y, box.height));
    showPointer({ x: cx, y: cy });
    var P = window.PointerEvent || MouseEvent;
    mouse(el, "pointerdown", cx, cy, P);
    mouse(el, "mousedown", cx, cy, MouseEvent);
    if (typeof el.focus === "function" && el !== document.activeElement) el.focus({ preventScroll: true });
    mouse(el, "pointerup", cx, cy, P);
    mouse(el, "mouseup", cx, cy, MouseEvent);
    mouse(el, "click", cx, cy, MouseEvent);   // a dispatched click also follows links, ticks boxes, submits
  }

  function setNative(el, prop, value) {
    var proto = Object.getPrototypeOf(el);
    var desc = null;
    while (proto && !desc) { desc = Object.getOwnPropertyDescriptor(proto, prop); proto = Object.getPrototypeOf(proto); }
    if (desc && desc.set) desc.set.call(el, value); else el[prop] = value;   // frameworks keep their own setters
  }
  function fire(el, type) {
    el.dispatchEvent(new Event(type, { bubbles: true, cancelable: type !== "input", composed: true }));
  }
  function doInput(el, value) {
    if (el.disabled || el.readOnly) return;
    var tag = el.tagName;
    if (tag === "INPUT" && /^(checkbox|radio)$/i.test(el.type)) {
      var on = value === true || value === "true" || value === "on";
      if (el.checked !== on) { setNative(el, "checked", on); fire(el, "input"); fire(el, "change"); }
      return;
    }
    if (typeof value !== "string") return;
    value = value.slice(0, 100000);
    if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && TEXT_TYPES.test(el.type || ""))) {
      if (el.value === value) return;
      if (document.activeElement !== el) el.focus({ preventScroll: true });
      setNative(el, "value", value);
      fire(el, "input");
      fire(el, "change");
    } else if (el.isContentEditable) {
      el.textContent = value;
      fire(el, "input");
    }
  }

  function key(el, type, k) {
    return el.dispatchEvent(new KeyboardEvent(type, { key: k, bubbles: true, cancelable: true, composed: true, view: window }));
  }
  function focusable() {
    return [].slice.call(document.querySelectorAll(
      "a[href],button,input,select,textarea,[tabindex],[contenteditable=true]")).filter(function (e) {
      return !e.disabled && e.tabIndex >= 0 && e.getClientRects().length && !inOurUi(e) && !(e.type === "hidden");
    });
  }
  function doKey(el, k) {
    var shift = false;
    if (k === "Shift+Tab") { k = "Tab"; shift = true; }
    var go = key(el, "keydown", k);
    if (go && (k.length === 1 || k === "Enter")) go = key(el, "keypress", k);
    if (go) {
      if (k === "Enter") {
        if (el.tagName === "INPUT" && el.form && TEXT_TYPES.test(el.type || "")) {
          if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
        } else if (el.tagName === "A" || el.tagName === "BUTTON") {
          doClick(el, 1, 1);
        }
      } else if (k === "Tab") {
        var list = focusable();
        var at = list.indexOf(document.activeElement);
        var next = list[(at + (shift ? list.length - 1 : 1)) % list.length];
        if (next) next.focus();
      }
    }
    key(el, "keyup", k);
  }

  // -- the customer's side: prompt, banner and the rep's pointer, out of rrweb's sight --
  var CSS = [
    ":host{all:initial}",
    ".box{position:fixed;z-index:2147483647;font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2433;",
    "background:#fff;border:1px solid #c6ccd8;border-radius:8px;box-shadow:0 6px 24px rgba(0,0,0,.18);padding:12px 14px}",
    ".prompt{right:16px;bottom:16px;max-width:340px}",
    ".banner{left:50%;top:8px;transform:translateX(-50%);display:flex;gap:10px;align-items:center;padding:8px 12px;",
    "background:#0b3d91;color:#fff;border-color:#0b3d91}",
    "p{margin:0 0 10px}",
    "button{font:600 13px system-ui,sans-serif;border-radius:6px;padding:6px 12px;cursor:pointer;border:1px solid #0b63ce;",
    "background:#fff;color:#0b63ce;margin-right:6px}",
    "button.go{background:#0b63ce;color:#fff}",
    ".banner button{margin:0;border-color:#fff}",
    ".pointer{position:fixed;z-index:2147483647;left:-9px;top:-9px;width:18px;height:18px;pointer-events:none;",
    "border-radius:50%;background:rgba(230,60,60,.55);border:2px solid #fff;box-shadow:0 0 0 1px #e63c3c;",
    "transition:transform 60ms linear}",
    ".pointer span{position:absolute;left:20px;top:14px;white-space:nowrap;font:600 12px system-ui,sans-serif;",
    "background:#e63c3c;color:#fff;border-radius:4px;padding:1px 5px}"
  ].join("");

  function makeUi() {
    if (ui) {
      if (!ui.host.isConnected) document.documentElement.appendChild(ui.host);
      return ui;
    }
    var host = document.createElement("supporthost-cobrowse");
    host.className = "rr-block supporthost-cobrowse-ui";
    host.setAttribute("data-supporthost-private", "block");
    var s = host.style;
    s.position = "fixed"; s.left = "0"; s.top = "0"; s.width = "0"; s.height = "0"; s.overflow = "visible";
    s.zIndex = "2147483647"; s.display = "block";
    var root = host.attachShadow({ mode: "closed" });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
    document.documentElement.appendChild(host);
    ui = { host: host, root: root, prompt: null, banner: null, pointer: null };
    return ui;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function button(text, cls, onClick) {
    var b = el("button", cls, text);
    b.type = "button";
    b.addEventListener("click", guard(function (ev) {
      ev.stopPropagation();
      if (ev.isTrusted) onClick();    // the customer's own click: never a script's or a rep's
    }));
    return b;
  }

  function showPrompt(ask) {
    if (ui && ui.prompt) { ui.prompt.remove(); ui.prompt = null; }
    if (!ask) return;
    var u = makeUi();
    var box = el("div", "box prompt");
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-label", "Co-browse request");
    box.setAttribute("data-cobrowse", "prompt");
    var what = ask.mode === "control"
      ? " asks to control this page: click, type and scroll in it for you. Private fields stay hidden and locked."
      : " asks to see this page. Private fields (passwords, card numbers) stay hidden.";
    var p = el("p");
    p.appendChild(el("strong", "", ask.rep));
    p.appendChild(document.createTextNode(what));
    function answer(allow) {
      send({ t: "consent", mode: ask.mode, allow: allow });
      showPrompt(null);
    }
    var allow = button("Allow", "go", function () { answer(true); });
    allow.setAttribute("data-cobrowse", "allow");
    var deny = button("Deny", "", function () { answer(false); });
    deny.setAttribute("data-cobrowse", "deny");
    box.appendChild(p);
    box.appendChild(allow);
    box.appendChild(deny);
    u.root.appendChild(box);
    u.prompt = box;
  }

  function drawBanner() {
    if (ui && ui.banner) { ui.banner.remove(); ui.banner = null; }
    if (!mode) return;
    var u = makeUi();
    var box = el("div", "box banner");
    box.setAttribute("role", "status");
    box.setAttribute("data-cobrowse", "banner");
    box.setAttribute("data-mode", mode);
    box.appendChild(el("span", "", rep + (mode === "control" ? " is controlling this page" : " can see this page")));
    if (mode === "control") {
      var back = button("Take back control", "", function () {
        send({ t: "take_back" });
        mode = "view";
        showPointer(null);
        drawBanner();
      });
      back.setAttribute("data-cobrowse", "take-back");
      box.appendChild(back);
    }
    var stop = button("Stop", "go", function () {
      send({ t: "stop" });
      endRecording();
    });
    stop.setAttribute("data-cobrowse", "stop");
    box.appendChild(stop);
    u.root.appendChild(box);
    u.banner = box;
  }

  function showPointer(at) {
    if (!at) {
      if (ui && ui.pointer) { ui.pointer.remove(); ui.pointer = null; }
      return;
    }
    var u = makeUi();
    if (!u.pointer) {
      u.pointer = el("div", "pointer");
      u.pointer.appendChild(el("span", "", rep));
      u.root.appendChild(u.pointer);
    }
    u.pointer.style.transform = "translate(" + Math.round(at.x) + "px," + Math.round(at.y) + "px)";
  }

  // -- leaving the site: the host ends co-browse when the next page is not on this origin --
  document.addEventListener("click", guard(function (ev) {
    var a = ev.target && ev.target.closest && ev.target.closest("a[href]");
    if (a) nextUrl = a.href;
    if (ev.target && ev.target.closest && ev.target.closest("a.supporthost-get-help")) setTimeout(guard(connect), 0);
  }), true);
  document.addEventListener("submit", guard(function (ev) {
    if (ev.target && ev.target.action) nextUrl = ev.target.action;
  }), true);
  window.addEventListener("pagehide", guard(function () {
    if (!ws || ws.readyState !== 1) return;
    if (nextUrl && new URL(nextUrl, location.href).origin !== location.origin) {
      send({ t: "leaving", url: nextUrl });
    }
    endRecording();
  }));
  window.addEventListener("pageshow", guard(function (ev) {
    if (ev.persisted) connect();   // back from the browser's cache: the old socket is gone
  }));

  window.SupportHostCobrowse = Object.freeze({
    version: VERSION,
    start: guard(connect),        // the snippet calls this right after it stored a new key
    state: function () {
      return { connected: accepted && !!(ws && ws.readyState === 1), mode: mode, recording: !!stopRecording, rep: rep };
    }
  });
  guard(connect)();
})();
