// incidentd console: live pages and local times. The pages work without
// this script; it adds two things.
//
// Live: a page whose <main> has data-live listens to that stream (Server-
// Sent Events). On a change it fetches the page again (data-page, its
// address as a GET) and puts its live regions ([data-live-region] with an
// id) in place of the ones shown, except a region the user is working in
// (focus in it, or a field changed): that one is put in place once the
// user has left it. Then it listens from the new version. Where no stream
// gets through, it asks for the page's version every two seconds instead.
//
// Times: every <time datetime> is shown in the viewer's time zone.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        el.textContent = d.toLocaleString();
        el.title = el.getAttribute("datetime");
      }
    });
  }

  // busy reports whether the user is working in el: the focus is in it, or
  // a field differs from what the page was sent with.
  function busy(el) {
    var active = document.activeElement;
    if (active && active !== document.body && el.contains(active)) {
      return true;
    }
    return Array.prototype.some.call(el.querySelectorAll("input:not([type=hidden]), textarea, select"), function (f) {
      if (f.tagName === "SELECT") {
        // Without a selected attribute the first option is the default.
        var def = Array.prototype.findIndex.call(f.options, function (o) { return o.defaultSelected; });
        return f.selectedIndex !== (def < 0 ? 0 : def);
      }
      if (f.type === "checkbox" || f.type === "radio") {
        return f.checked !== f.defaultChecked;
      }
      return f.value !== f.defaultValue;
    });
  }

  // replace puts fresh in place of old, keeping open the edit panels that
  // were open.
  function replace(old, fresh) {
    var open = {};
    old.querySelectorAll("details[open][data-key]").forEach(function (d) { open[d.getAttribute("data-key")] = true; });
    fresh.querySelectorAll("details[data-key]").forEach(function (d) {
      if (open[d.getAttribute("data-key")]) { d.open = true; }
    });
    old.replaceWith(fresh);
  }

  var source = null, poller = null, current = null, refreshing = false, again = false, pending = false;

  function reload() { location.reload(); }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    pending = false;
    var main = document.querySelector("main");
    var page = main.getAttribute("data-page") || location.href;
    fetch(page, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (resp.status === 401 || (resp.redirected && resp.url.indexOf("/console/login") >= 0)) { reload(); throw new Error("signed out"); }
        if (!resp.ok && resp.status !== 403 && resp.status !== 404) { throw new Error(resp.status); }
        return resp.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main");
        if (!fresh) { return; }
        if (location.pathname + location.search !== page && page.charAt(0) === "/") {
          // A page shown for a refused form is at the form's address.
          history.replaceState(null, "", page);
        }
        var regions = doc.querySelectorAll("[data-live-region][id]");
        var missing = regions.length === 0 || Array.prototype.some.call(regions, function (el) { return !document.getElementById(el.id); });
        if (missing) {
          // The page is another now (gone, no longer allowed, or back):
          // show what it says, unless the user is working in it.
          if (busy(main)) { pending = true; } else { main.replaceWith(fresh); }
        } else {
          regions.forEach(function (el) {
            var old = document.getElementById(el.id);
            if (busy(old)) { pending = true; } else { replace(old, el); }
          });
        }
        localTimes(document);
        document.title = doc.title;
        var live = fresh.getAttribute("data-live");
        if (live) {
          var now = document.querySelector("main");
          now.setAttribute("data-live", live);
          now.setAttribute("data-page", fresh.getAttribute("data-page") || page);
          listen(live);
        }
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  // A region left as it was for the user gets its news once the user
  // leaves it.
  document.addEventListener("focusout", function () {
    setTimeout(function () { if (pending) { refresh(); } }, 0);
  });

  function version(url) {
    return new URL(url, location.href).searchParams.get("v");
  }

  function poll(url) {
    if (source) { source.close(); source = null; }
    if (poller) { clearInterval(poller); }
    current = url;
    poller = setInterval(function () {
      fetch(current + "&format=json", { credentials: "same-origin" })
        .then(function (resp) {
          if (resp.status === 401 || resp.redirected) { reload(); return null; }
          return resp.ok ? resp.json() : null;
        })
        .then(function (got) {
          if (got && got.version !== version(current)) { refresh(); }
        })
        .catch(function () {});
    }, 2000);
    document.documentElement.setAttribute("data-live-mode", "polling");
  }

  function listen(url) {
    if (poller) { poll(url); return; }
    if (typeof EventSource === "undefined") { poll(url); return; }
    if (source) { source.close(); }
    current = url;
    var es = new EventSource(url), ready = false;
    source = es;
    // A stream that a proxy holds back never says it is ready.
    var wait = setTimeout(function () { if (!ready && source === es) { poll(url); } }, 5000);
    es.addEventListener("ready", function () {
      ready = true;
      clearTimeout(wait);
      document.documentElement.setAttribute("data-live-mode", "stream");
    });
    es.addEventListener("change", function () { refresh(); });
    es.addEventListener("signed-out", function () { es.close(); reload(); });
    es.onerror = function () {
      // The browser opens a stream that ended again by itself; one that
      // was refused (too many streams, a session that ended) it does not:
      // polling then tells which.
      if (es.readyState === EventSource.CLOSED && source === es) { poll(url); }
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var main = document.querySelector("main[data-live]");
    if (main) { listen(main.getAttribute("data-live")); }
  });
})();
