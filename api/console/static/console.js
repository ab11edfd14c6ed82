/* The console's behaviour on every page: SLA countdowns, keyboard navigation in queues, inserting a suggested
 * answer into the reply, rating suggestions in place, and the browser's time zone on the sign-in form.
 * No inline script anywhere: the Content-Security-Policy allows scripts from this server only. */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.triageConsole = { csrfToken: csrfToken, zh: zh };

  /* ---- durations, as the server writes them ---- */
  function duration(seconds) {
    var total = Math.floor(Math.abs(seconds));
    var d = Math.floor(total / 86400), h = Math.floor((total % 86400) / 3600), m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var u = zh ? ["天", "小时", "分", "秒"] : ["d", "h", "m", "s"], sep = zh ? "" : " ";
    if (d) return d + u[0] + sep + h + u[1];
    if (h) return h + u[1] + sep + (zh ? m : (m < 10 ? "0" + m : m)) + u[2];
    if (m) return m + u[2];
    return s + u[3];
  }
  window.triageConsole.duration = duration;

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-due")) - now) / 1000;
      el.textContent = left >= 0 ? duration(left) : (zh ? "已超 " + duration(left) : duration(left) + " overdue");
      el.classList.toggle("overdue", left < 0);
    });
  }

  /* ---- keyboard navigation in queues: ↑/↓ or j/k move, Enter opens ---- */
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("table[data-keyboard-nav] a.ticket-link"));
  }
  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var down = event.key === "ArrowDown" || event.key === "j", up = event.key === "ArrowUp" || event.key === "k";
    if (!down && !up) return;
    var links = rowLinks();
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at === -1 && event.key.indexOf("Arrow") === 0 && !event.target.closest("table[data-keyboard-nav]")) return;
    event.preventDefault();
    var next = at === -1 ? 0 : Math.max(0, Math.min(links.length - 1, at + (down ? 1 : -1)));
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  }

  /* ---- suggested answers: insert into the reply, rate helpful or not ---- */
  function insertSuggestion(button) {
    var item = button.closest(".suggestion");
    var target = document.getElementById(button.getAttribute("data-insert-target"));
    if (!item || !target) return;
    var text = item.querySelector(".snippet").textContent.trim();
    var start = target.selectionStart || target.value.length, end = target.selectionEnd || target.value.length;
    var before = target.value.slice(0, start), after = target.value.slice(end);
    var glue = before && !/\n$/.test(before) ? "\n\n" : "";
    target.value = before + glue + text + after;
    target.focus();
    target.selectionStart = target.selectionEnd = (before + glue + text).length;
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function rate(form, event) {
    event.preventDefault();
    var button = form.querySelector("button");
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken(),
                 "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function () {
      form.closest(".suggestion-actions").querySelectorAll(".vote").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
    }).catch(function () { form.submit(); });
  }

  document.addEventListener("click", function (event) {
    var insert = event.target.closest("button.insert");
    if (insert) insertSuggestion(insert);
  });
  document.addEventListener("submit", function (event) {
    if (event.target.classList.contains("rate")) rate(event.target, event);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.getElementById("time-zone");
    if (zone && window.Intl) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    var error = document.getElementById("error");
    if (error) error.setAttribute("tabindex", "-1");
    document.addEventListener("keydown", onKey);
    tick();
    setInterval(tick, 15000);
  });
})();
