// incidentd console: live pages and local times. The pages work without
// this script; it adds two things.
//
// Live: a page whose <main> has data-live listens to that stream (Server-
// Sent Events). On a change it fetches the page again and puts its live
// regions ([data-live-region] with an id) in place of the ones shown,
// except a region the user is typing in; then it listens from the new
// version. Where no stream gets through, it asks for the page's version
// every two seconds instead.
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

  // busy reports whether the user is editing in el: a field that has
  // focus or differs from what the page was sent with.
  function busy(el) {
    if (el.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) {
      return true;
    }
    return Array.prototype.some.call(el.querySelectorAll("input:not([type=hidden]), textarea"), function (f) {
      return f.value !== f.defaultValue;
    });
  }

  var source = null, poller = null, current = null, refreshing = false, again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (!resp.ok && resp.status !== 403 && resp.status !== 404) { throw new Error(resp.status); }
        if (resp.redirected && resp.url.indexOf("/console/login") >= 0) { location.reload(); throw new Error("signed out"); }
        return resp.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main");
        if (!fresh) { return; }
        var regions = doc.querySelectorAll("[data-live-region][id]");
        var main = document.querySelector("main");
        if (regions.length === 0 && !busy(main)) {
          // The page is gone (deleted, or no longer allowed): show what
          // it says now.
          main.innerHTML = fresh.innerHTML;
        }
        regions.forEach(function (el) {
          var old = document.getElementById(el.id);
          if (old && !busy(old)) {
            old.replaceWith(el);
          }
        });
        localTimes(document);
        document.title = doc.title;
        var live = fresh.getAttribute("data-live");
        if (live) {
          document.querySelector("main").setAttribute("data-live", live);
          listen(live);
        }
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function version(url) {
    return new URL(url, location.href).searchParams.get("v");
  }

  function poll(url) {
    if (source) { source.close(); source = null; }
    if (poller) { clearInterval(poller); }
    current = url;
    poller = setInterval(function () {
      fetch(current + "&format=json", { credentials: "same-origin" })
        .then(function (resp) { return resp.ok ? resp.json() : null; })
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
    es.addEventListener("signed-out", function () { es.close(); location.reload(); });
    es.onerror = function () {
      // The browser opens a stream that ended again by itself; one that
      // was refused (too many streams) it does not.
      if (es.readyState === EventSource.CLOSED && source === es) { poll(url); }
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var main = document.querySelector("main[data-live]");
    if (main) { listen(main.getAttribute("data-live")); }
  });
})();
