// Channelport's few scripts: loaded from this server only (the CSP allows nothing else),
// attached by data attributes, never inline. Every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  setUpDateForAllEvents();
  followSyncProgress();
});

// Import tab: "Use this date for all events" fills every row and ticks it, without a round trip.
function setUpDateForAllEvents() {
  const button = document.querySelector("[data-apply-all]");
  if (!button) return;
  button.addEventListener("click", (event) => {
    event.preventDefault();
    const day = document.getElementById("all-date").value;
    const at = document.getElementById("all-time").value || "00:00:00";
    document.querySelectorAll("table.imports tbody tr").forEach((row) => {
      row.querySelector("input[type=checkbox]").checked = true;
      row.querySelector("input.row-date").value = day;
      row.querySelector("input.row-time").value = at.length === 5 ? at + ":00" : at;
    });
    announce(button.dataset.done);
  });
}

function announce(text) {
  const region = document.querySelector(".notices");
  if (!region || !text) return;
  region.replaceChildren();
  const p = document.createElement("p");
  p.className = "notice info";
  p.textContent = text;
  region.appendChild(p);
}

// "Sync now": poll the sync's progress and update each account's row in place.
function followSyncProgress() {
  const table = document.getElementById("sync-progress");
  if (!table || table.dataset.done === "true") return;
  const labels = JSON.parse(table.dataset.labels || "{}");
  const state = document.getElementById("sync-state");
  const badgeClass = { succeeded: "ok", failed: "bad", running: "run", queued: "muted", skipped: "warn", busy: "warn", interrupted: "bad" };

  async function poll() {
    let batch;
    try {
      const response = await fetch(table.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return setTimeout(poll, 2000);
      batch = await response.json();
    } catch (error) {
      return setTimeout(poll, 2000);
    }
    for (const entry of batch.accounts) {
      const row = table.querySelector(`tr[data-account="${CSS.escape(entry.account)}"]`);
      if (!row) continue;
      const badge = document.createElement("span");
      badge.className = "badge " + (badgeClass[entry.status] || "muted");
      badge.textContent = labels[entry.status] || entry.status;
      row.querySelector(".status").replaceChildren(badge);
      row.querySelector(".events").textContent = String(entry.events);
      row.querySelector(".counts").textContent = countsText(entry.counts, labels);
      row.querySelector(".error").textContent = entry.error || "";
      row.dataset.status = entry.status;
    }
    if (batch.done) {
      table.dataset.done = "true";
      state.textContent = labels.finished || "Finished.";
    } else {
      setTimeout(poll, 600);
    }
  }
  poll();
}

function countsText(counts, labels) {
  const totals = {};
  for (const perType of Object.values(counts || {})) {
    for (const [outcome, n] of Object.entries(perType)) totals[outcome] = (totals[outcome] || 0) + n;
  }
  const parts = Object.keys(totals).sort().map((o) => `${labels[o] || o} ${totals[o]}`);
  return parts.length ? parts.join(", ") : "–";
}
