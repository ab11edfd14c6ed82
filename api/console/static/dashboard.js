/* The manager dashboard: live alerts over Server-Sent Events (with the session cookie), acknowledgement in place,
 * and the charts (Chart.js, vendored; the heat map uses chartjs-chart-matrix). Alert text is set with textContent
 * only: ticket and customer text is never parsed as HTML. */
(function () {
  "use strict";
  var TYPES = ["angry_customer", "sla_warning", "sla_breach", "escalation", "possible_incident", "repeat_contact",
               "model_drift"];

  function data() {
    return JSON.parse(document.getElementById("dashboard-data").textContent);
  }

  function localTime(iso) {
    var d = new Date(iso);
    function two(n) { return n < 10 ? "0" + n : String(n); }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" +
      two(d.getMinutes());
  }

  /* ---- live alerts ---- */
  function startAlerts(labels) {
    var list = document.getElementById("alerts");
    var template = document.getElementById("alert-template");
    var state = document.getElementById("live-state");
    var seen = {};
    list.querySelectorAll("li[data-id]").forEach(function (li) { seen[li.getAttribute("data-id")] = true; });

    function show(event) {
      var alert = JSON.parse(event.data);
      if (seen[alert.id]) return;
      seen[alert.id] = true;
      var li = template.content.firstElementChild.cloneNode(true);
      li.classList.add("sev-" + alert.severity, "fresh");
      li.setAttribute("data-id", alert.id);
      li.querySelector(".sev").textContent = labels.severities[alert.severity] || alert.severity;
      li.querySelector(".type").textContent = labels.types[alert.event] || alert.event;
      var link = li.querySelector("a.ticket");
      if (alert.ticket && alert.ticket.number) {
        link.textContent = alert.ticket.number;
        link.setAttribute("href", "/tickets/" + encodeURIComponent(alert.ticket.number));
      } else {
        link.remove();
      }
      li.querySelector(".reason").textContent = alert.reason;
      var time = li.querySelector("time");
      time.textContent = localTime(alert.created_at);
      time.setAttribute("datetime", alert.created_at);
      var form = li.querySelector("form.ack");
      form.setAttribute("action", "/console/alerts/" + encodeURIComponent(alert.id) + "/ack");
      form.querySelector("button").textContent = labels.ack;
      list.insertBefore(li, list.firstChild);
      document.getElementById("no-alerts").hidden = true;
    }

    var source = new EventSource("/console/events?after=" + encodeURIComponent(list.getAttribute("data-after") || "0"));
    TYPES.forEach(function (type) { source.addEventListener(type, show); });
    source.onopen = function () {
      state.textContent = state.getAttribute("data-live");
      state.setAttribute("data-connected", "true");
    };
    source.onerror = function () {
      state.textContent = state.getAttribute("data-offline");
      state.setAttribute("data-connected", "false");
    };

    list.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.classList.contains("ack")) return;
      event.preventDefault();
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": window.triageConsole.csrfToken(),
                   "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString()
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        var li = form.closest("li");
        li.classList.add("acknowledged");
        var button = form.querySelector("button");
        button.textContent = labels.acked;
        button.disabled = true;
      }).catch(function () { form.submit(); });
    });
  }

  /* ---- charts ---- */
  function charts(d) {
    if (!window.Chart) return;
    var c = d.charts, L = c.labels;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.color = "#374151";

    new Chart(document.getElementById("chart-backlog"), {
      data: {
        labels: c.backlog.map(function (r) { return r.day.slice(5); }),
        datasets: [
          { type: "line", label: L.open, data: c.backlog.map(function (r) { return r.open; }), borderColor: "#1d4ed8",
            backgroundColor: "#1d4ed8", tension: 0.25, yAxisID: "y" },
          { type: "bar", label: L.created, data: c.backlog.map(function (r) { return r.created; }),
            backgroundColor: "#fca5a5" },
          { type: "bar", label: L.resolved, data: c.backlog.map(function (r) { return r.resolved; }),
            backgroundColor: "#86efac" }
        ]
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });

    function attainment(id, rows, key) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: rows.map(function (r) { return r[key] || "—"; }),
          datasets: [{ label: L.attainment, data: rows.map(function (r) { return Math.round((r.attainment || 0) * 1000) / 10; }),
                       backgroundColor: rows.map(function (r) { return (r.attainment || 0) >= 0.9 ? "#16a34a" : (r.attainment || 0) >= 0.75 ? "#d97706" : "#dc2626"; }) }]
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100 } } }
      });
    }
    attainment("chart-sla-priority", c.sla_priority, "priority");
    attainment("chart-sla-team", c.sla_team, "team");

    var agents = document.getElementById("chart-agents");
    if (agents && c.agents.length) {
      new Chart(agents, {
        type: "bar",
        data: {
          labels: c.agents.map(function (a) { return a.agent; }),
          datasets: [
            { label: L.load, data: c.agents.map(function (a) { return a.load; }), backgroundColor: "#1d4ed8" },
            { label: L.capacity, data: c.agents.map(function (a) { return a.capacity; }), backgroundColor: "#d1d5db" }
          ]
        },
        options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    }

    var heat = c.heat, heatChart = null;
    function drawHeat(mode) {
      var xs = mode === "hour" ? Array.from({ length: 24 }, function (_, h) { return String(h); })
                               : heat.days.map(function (day) { return day.slice(5); });
      var rows = mode === "hour" ? heat.by_hour : heat.by_day;
      var cells = [], max = 1;
      heat.categories.forEach(function (cat, i) {
        rows[i].forEach(function (v, j) { cells.push({ x: xs[j], y: cat, v: v }); max = Math.max(max, v); });
      });
      if (heatChart) heatChart.destroy();
      heatChart = new Chart(document.getElementById("chart-heat"), {
        type: "matrix",
        data: { datasets: [{
          label: L.tickets, data: cells, borderWidth: 1, borderColor: "#ffffff",
          backgroundColor: function (ctx) {
            var v = (ctx.dataset.data[ctx.dataIndex] || {}).v || 0;
            return v ? "rgba(185, 28, 28, " + (0.12 + 0.88 * v / max).toFixed(3) + ")" : "#f3f4f6";
          },
          width: function (ctx) { var a = ctx.chart.chartArea; return a ? a.width / xs.length - 2 : 10; },
          height: function (ctx) { var a = ctx.chart.chartArea; return a ? a.height / Math.max(heat.categories.length, 1) - 2 : 10; }
        }] },
        options: {
          plugins: { legend: { display: false }, tooltip: { callbacks: {
            title: function (items) { var r = items[0].raw; return r.y + " · " + r.x; },
            label: function (item) { return item.raw.v + " " + L.tickets; }
          } } },
          scales: {
            x: { type: "category", labels: xs, offset: true, grid: { display: false } },
            y: { type: "category", labels: heat.categories, offset: true, grid: { display: false } }
          }
        }
      });
    }
    if (heat.categories.length) drawHeat("day");
    document.querySelectorAll("button.heat-mode").forEach(function (button) {
      button.addEventListener("click", function () {
        document.querySelectorAll("button.heat-mode").forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
        if (heat.categories.length) drawHeat(button.getAttribute("data-mode"));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var d = data();
    startAlerts(d.alerts);
    charts(d);
  });
})();
