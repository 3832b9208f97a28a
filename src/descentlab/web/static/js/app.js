// The playground page: state, controls, requests, drawing. Plain ES modules, no build step.
//
// Every number drawn or listed comes from the server's answer to POST /api/run (descentlab.lab.run);
// the page only lays it out. For tests and curious users the latest answer is also in the DOM:
// <div id="results" data-request data-trajectories data-losses data-metrics data-count data-step>.

import { getJSON, postBlob, postJSON } from "./api.js";
import { LossChart } from "./chart.js";
import { ContourPlot } from "./plot.js";
import { decodeState, encodeState } from "./urlstate.js";
import { Inspector } from "./inspector.js";
import { colorsFor, el, fmt, inInterval, roundCoord, sliderPosition, sliderValue } from "./ui.js";

const RUN_DEBOUNCE_MS = 25; // coalesces the events of one gesture; see pump()
const GRID_RESOLUTION = 160;
const CLOUD_COUNT = 96;

const $ = (id) => document.getElementById(id);
const PLAY_ICON = "M4 2v12l10-6z";
const PAUSE_ICON = "M3 2h4v12H3zM9 2h4v12H9z";

function icon(d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

const app = {
  catalog: null, // {optimizers: [...], surfaces: {...}}
  s: null, // the view's state (mirrored in the URL)
  grid: null,
  result: null,
  request: null, // the request that produced `result`
  cloud: null,
  playing: false,
  gridSeq: 0,
  runCount: 0,
};

// ------------------------------------------------------------------ helpers
function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// kind: "error" (cleared by the next successful run), "info", or "notice" (stays until replaced)
function showMessage(text, kind = "error") {
  const box = $("message");
  if (!text) { box.hidden = true; box.textContent = ""; box.dataset.kind = ""; return; }
  box.dataset.kind = kind;
  box.hidden = false;
  box.textContent = text;
  box.className = kind === "error" ? "message" : "message info";
}

function setBusy(busy) {
  document.body.dataset.state = busy ? "busy" : "ready";
}

function optimizerInfo(name) {
  const low = String(name).toLowerCase();
  return app.catalog.optimizers.find((o) => o.name.toLowerCase() === low) || null;
}

function surfaceInfo() {
  const s = app.s.surface;
  if (s.expression !== undefined) return null;
  return app.catalog.surfaces.surfaces.find((x) => x.name === s.name) || null;
}

function isDataSurface() {
  const info = surfaceInfo();
  return Boolean(info && info.kind === "data");
}

function defaultHp(name) {
  const info = optimizerInfo(name);
  const hp = {};
  for (const h of info.hyperparameters) hp[h.name] = h.default;
  return hp;
}

// ------------------------------------------------------------------ requests
function surfaceSpec() {
  const s = app.s;
  if (s.surface.expression !== undefined) return { expression: s.surface.expression };
  const spec = { name: s.surface.name };
  const info = surfaceInfo();
  if (info && info.data && info.data.options) {
    spec.data = { loss: s.loss || info.data.loss, outliers: s.outliers || 0 };
  }
  return spec;
}

function runRequest() {
  const s = app.s;
  return {
    surface: surfaceSpec(),
    optimizers: s.optimizers.map((o) => ({ name: o.name, hyperparameters: { ...o.hp } })),
    starts: s.starts.map((p) => [p[0], p[1]]),
    steps: s.steps,
    seed: s.seed,
    batch_size: isDataSurface() && s.batchSize ? s.batchSize : null,
    record_state: true,
    tolerance: s.tolerance,
  };
}

async function loadGrid() {
  const seq = ++app.gridSeq;
  const body = { surface: surfaceSpec(), resolution: GRID_RESOLUTION };
  if (app.s.view) body.bounds = app.s.view;
  try {
    const grid = await postJSON("/api/grid", body);
    if (seq !== app.gridSeq) return;
    app.grid = grid;
    app.plot.setGrid(grid);
    if (app.s.surface.expression === undefined) $("surface-description").textContent = grid.surface.description || "";
    $("reset-view").hidden = !app.s.view;
    draw();
  } catch (err) {
    if (seq === app.gridSeq) showMessage(err.message);
  }
}

// Runs recompute while a slider moves: at most one request is in flight; changes made meanwhile
// mark the view dirty and are sent, coalesced, as soon as the answer arrives. So the picture
// follows the slider at the server's pace and always ends on the latest settings. The page
// reports data-state="ready" only when nothing is pending.
let inFlight = false, dirty = false;

async function pump() {
  if (inFlight || !dirty) return;
  dirty = false;
  inFlight = true;
  const request = runRequest();
  let failure = null;
  try {
    const result = await postJSON("/api/run", request);
    app.result = result;
    app.request = request;
    app.runCount += 1;
    const steps = result.trajectories.length - 1;
    if (app.s.t > steps || app.followEnd) app.s.t = steps;
    if (app.s.selected >= result.runs.length) app.s.selected = 0;
    app.cloud = null;
    if ($("message").dataset.kind === "error") showMessage(null);
    publishResults();
    buildMetrics();
    syncPlayer();
    draw();
    updateUrl();
  } catch (err) {
    failure = err;
  } finally {
    inFlight = false;
  }
  if (dirty) { pump(); return; }
  if (failure) {
    clearRuns();
    showMessage(failure.message);
    document.body.dataset.state = "error";
  } else {
    setBusy(false);
  }
}

function runNow() {
  dirty = true;
  setBusy(true);
  pump();
}
const scheduleRun = debounce(runNow, RUN_DEBOUNCE_MS);

function changed({ grid = false } = {}) {
  updateUrl();
  if (grid) loadGrid();
  setBusy(true);
  scheduleRun();
}

// ------------------------------------------------------------------ DOM mirror of the results
function publishResults() {
  const r = app.result;
  const box = $("results");
  box.dataset.request = JSON.stringify(app.request);
  box.dataset.trajectories = JSON.stringify(r.trajectories);
  box.dataset.losses = JSON.stringify(r.losses);
  box.dataset.metrics = JSON.stringify(r.metrics);
  box.dataset.count = String(app.runCount);
  box.dataset.step = String(app.s.t);
}

// A refused run (422) leaves no runs on the page: the paths, loss curves, metrics and legend of
// the previous settings (often the previous surface) would read as the new settings' answer under
// the error banner. The contours stay (they are the current surface's when its grid loaded), the
// loss chart says why it is empty, and the exports wait for the next successful run.
function clearRuns() {
  app.result = null;
  app.request = null;
  app.cloud = null;
  pause();
  const box = $("results");
  box.dataset.trajectories = "[]";
  box.dataset.losses = "[]";
  box.dataset.metrics = "{}";
  $("metrics").tHead.replaceChildren();
  $("metrics").tBodies[0].replaceChildren();
  $("tolerance-note").textContent = "";
  $("legend").replaceChildren();
  $("inspector").replaceChildren(el("p", { class: "hint", text: "no runs to inspect" }));
  app.chart.clear("no runs: the request was refused (see the message)");
  draw();
}

// ------------------------------------------------------------------ URL
// The hash this page last wrote or applied. A hash that differs from it is a link the user
// opened or typed, which the hashchange handler applies: the debounced write must not replace
// it with the view it is leaving (that lost a link opened within 60 ms of a run's end).
let ownHash = null;
const updateUrl = debounce(() => {
  if (ownHash !== null && location.hash !== ownHash) return;
  const hash = "#" + encodeState(app.s);
  if (location.hash !== hash) history.replaceState(null, "", hash);
  ownHash = hash;
}, 60);

// ------------------------------------------------------------------ surface controls
function buildSurfaceControls() {
  const select = $("surface-select");
  select.replaceChildren();
  const groups = { analytic: el("optgroup", { label: "surfaces" }), data: el("optgroup", { label: "fit y = w x + b to data" }) };
  for (const sf of app.catalog.surfaces.surfaces) {
    (groups[sf.kind] || groups.analytic).append(el("option", { value: sf.name, text: sf.title || sf.name }));
  }
  select.append(groups.analytic);
  if (groups.data.children.length) select.append(groups.data);
  select.append(el("option", { value: "__formula__", text: "your formula f(x, y)…" }));
  select.addEventListener("change", () => {
    if (select.value === "__formula__") {
      $("formula-box").hidden = false;
      const current = surfaceInfo();
      if (current && current.formula && !$("formula").value) $("formula").value = current.formula;
      $("formula").focus();
      checkFormula();
      return;
    }
    chooseSurface({ name: select.value });
  });

  const loss = $("loss-select");
  loss.replaceChildren(...app.catalog.surfaces.losses.map((l) => el("option", { value: l.name, text: l.label || l.name })));
  loss.addEventListener("change", () => { app.s.loss = loss.value; changed({ grid: true }); });

  for (const radio of document.querySelectorAll('input[name="batch-mode"]')) {
    radio.addEventListener("change", () => {
      app.s.batchSize = radio.value === "mini" && radio.checked ? Number($("batch-size").value) || 8 : null;
      if (radio.value === "full" && radio.checked) app.s.batchSize = null;
      syncDataControls();
      changed();
    });
  }
  const setBatch = (v) => {
    const info = surfaceInfo();
    const n = info && info.data ? info.data.n : 1000;
    v = Math.max(1, Math.min(n, Math.round(v)));
    app.s.batchSize = v;
    syncDataControls();
    changed();
  };
  const setOutliers = (v) => {
    const info = surfaceInfo();
    const n = info && info.data ? info.data.n : 100;
    if (!Number.isFinite(v)) return;
    app.s.outliers = Math.max(0, Math.min(n, Math.round(v)));
    syncDataControls();
    changed({ grid: true });
  };
  $("outliers-range").addEventListener("input", (e) => setOutliers(Number(e.target.value)));
  $("outliers").addEventListener("change", (e) => setOutliers(Number(e.target.value)));
  $("batch-size-range").addEventListener("input", (e) => setBatch(Number(e.target.value)));
  $("batch-size").addEventListener("change", (e) => {
    const info = surfaceInfo();
    const n = info && info.data ? info.data.n : 1000;
    const text = e.target.value.trim(), v = Number(text);
    const ok = text !== "" && Number.isInteger(v) && v >= 1 && v <= n;
    e.target.classList.toggle("invalid", !ok);
    if (!ok) { showMessage(`batch size must be an integer in [1, ${n}] (the number of data points); got ${text || "nothing"}`); return; }
    setBatch(v);
  });

  $("formula").addEventListener("input", () => checkFormulaSoon());
  $("formula").addEventListener("keydown", (e) => { if (e.key === "Enter") applyFormula(); });
  $("formula-apply").addEventListener("click", applyFormula);
}

function syncSurfaceControls() {
  const s = app.s;
  const select = $("surface-select");
  const info = surfaceInfo();
  if (s.surface.expression !== undefined) {
    select.value = "__formula__";
    $("formula-box").hidden = false;
    $("formula").value = s.surface.expression;
    $("surface-description").textContent = "";
  } else {
    select.value = s.surface.name;
    $("formula-box").hidden = true;
    $("surface-description").textContent = info ? info.description : "";
  }
  syncDataControls();
}

function syncDataControls() {
  const data = isDataSurface();
  $("data-box").hidden = !data;
  if (!data) return;
  const info = surfaceInfo();
  const options = Boolean(info.data && info.data.options);
  $("loss-row").hidden = !options;
  $("outliers-row").hidden = !options;
  $("loss-select").value = app.s.loss || (info.data && info.data.loss) || "mse";
  $("outliers").value = String(app.s.outliers || 0);
  $("outliers-range").value = String(app.s.outliers || 0);
  const mini = Boolean(app.s.batchSize);
  for (const radio of document.querySelectorAll('input[name="batch-mode"]')) {
    radio.checked = (radio.value === "mini") === mini;
  }
  const n = info.data ? info.data.n : 100;
  $("batch-size-range").max = String(n);
  $("batch-size").max = String(n);
  if (mini) {
    $("batch-size-range").value = String(app.s.batchSize);
    $("batch-size").value = String(app.s.batchSize);
  }
  $("batch-row").classList.toggle("disabled", !mini);
  $("batch-size-range").disabled = !mini;
  $("batch-size").disabled = !mini;
}

function chooseSurface(surface) {
  const s = app.s;
  s.surface = surface;
  s.view = null;
  const info = surfaceInfo();
  if (info) {
    s.starts = [info.start.slice()];
    s.loss = info.kind === "data" ? (info.data && info.data.loss) || "mse" : null;
    s.outliers = 0;
  }
  if (!isDataSurface()) s.batchSize = null;
  syncSurfaceControls();
  buildStarts();
  changed({ grid: true });
}

// The inline check shows the answer for the latest text only (a newer check supersedes an older
// one's display), but returns its own answer to its caller whatever came after: "Plot" (click or
// Enter) cancels the pending as-you-type check, checks the text at once and applies that very
// text, so a click within the typing delay is never swallowed by the delayed check.
let formulaSeq = 0;
async function checkFormula(text = $("formula").value.trim()) {
  const seq = ++formulaSeq;
  const out = $("formula-error");
  if (!text) { out.hidden = true; return null; }
  try {
    const answer = await postJSON("/api/expression", { text });
    if (seq !== formulaSeq) return answer;
    out.hidden = false;
    out.className = answer.valid ? "inline-ok" : "inline-error";
    out.textContent = answer.valid ? `ok: ${answer.formula}` : answer.message;
    $("formula").classList.toggle("invalid", !answer.valid);
    return answer;
  } catch (err) {
    if (seq !== formulaSeq) return null;
    out.hidden = false;
    out.className = "inline-error";
    out.textContent = err.message;
    $("formula").classList.add("invalid");
    return null;
  }
}

const checkFormulaSoon = debounce(checkFormula, 250);

async function applyFormula() {
  checkFormulaSoon.cancel();
  const text = $("formula").value.trim();
  const answer = await checkFormula(text);
  if (!answer || !answer.valid) return;
  const s = app.s;
  const sameSurface = s.surface.expression === text;
  s.surface = { expression: text };
  s.batchSize = null;
  s.loss = null;
  if (!sameSurface) {
    s.view = null;
    s.starts = [answer.start.slice()];
    buildStarts();
  }
  syncSurfaceControls();
  changed({ grid: true });
}

// ------------------------------------------------------------------ start points
function buildStarts() {
  const list = $("starts");
  list.replaceChildren();
  app.s.starts.forEach((p, k) => {
    const remove = el("button", {
      type: "button", title: "remove", "aria-label": `remove start ${k + 1}`, text: "×",
      onclick: () => {
        if (app.s.starts.length <= 1) return;
        app.s.starts.splice(k, 1);
        buildStarts();
        changed();
      },
    });
    if (app.s.starts.length <= 1) remove.disabled = true;
    list.append(el("li", { dataset: { start: String(k) } }, `(${fmt(p[0])}, ${fmt(p[1])})`, remove));
  });
}

function onPlotClick(event) {
  if (!app.grid) return;
  const rect = app.plot.canvas.getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  if (!app.plot.inside(px, py)) return;
  const [x, y] = app.plot.toWorld(px, py);
  const [[x0, x1], [y0, y1]] = app.grid.bounds;
  const p = [roundCoord(x, x1 - x0), roundCoord(y, y1 - y0)];
  if (event.shiftKey && app.s.starts.length < app.catalog.limits.max_starts) app.s.starts.push(p);
  else app.s.starts = [p];
  buildStarts();
  changed();
}

// ------------------------------------------------------------------ optimizer cards
function buildOptimizers() {
  const box = $("optimizers");
  box.replaceChildren();
  const colors = colorsFor(app.s.optimizers);
  app.s.optimizers.forEach((o, k) => {
    const info = optimizerInfo(o.name);
    const head = el("div", { class: "opt-head" },
      el("span", { class: "swatch", dataset: { color: colors[k] } }),
      el("strong", { text: info.name, title: info.summary }),
      el("span", { class: "motto", text: info.family.motto }),
      el("button", {
        type: "button", title: "remove", "aria-label": `remove ${info.name}`, text: "×",
        disabled: app.s.optimizers.length <= 1,
        onclick: () => {
          app.s.optimizers.splice(k, 1);
          if (app.s.selected >= app.s.optimizers.length * app.s.starts.length) app.s.selected = 0;
          buildOptimizers();
          changed();
        },
      }));
    head.querySelector(".swatch").style.background = colors[k];
    const card = el("div", { class: "opt-card", dataset: { opt: String(k), name: info.name } }, head);
    for (const h of info.hyperparameters) {
      const id = `hp-${k}-${h.name}`;
      if (h.kind === "choice") {
        const select = el("select", { id, dataset: { opt: String(k), hp: h.name } },
          ...h.choices.map((c) => el("option", { value: c, text: c })));
        select.value = o.hp[h.name] ?? h.default;
        select.addEventListener("change", () => { o.hp[h.name] = select.value; changed(); });
        card.append(el("div", { class: "hp" }, el("label", { for: id, text: h.name }), select));
        continue;
      }
      const spec = h.slider;
      const value = Number(o.hp[h.name] ?? h.default);
      const range = el("input", {
        type: "range", min: "0", max: "1000", step: "1", "aria-label": `${info.name} ${h.name}`,
        dataset: { opt: String(k), hp: h.name },
      });
      range.value = String(Math.round(sliderPosition(spec, value)));
      const number = el("input", {
        id, type: "number", step: "any", title: `${h.name} in ${h.interval.text}`,
        dataset: { opt: String(k), hp: h.name },
      });
      number.value = String(value);
      range.addEventListener("input", () => {
        const v = sliderValue(spec, Number(range.value));
        number.value = String(v);
        number.classList.remove("invalid");
        o.hp[h.name] = v;
        changed();
      });
      number.addEventListener("input", () => {
        const v = Number(number.value);
        const ok = number.value.trim() !== "" && inInterval(h.interval, v);
        number.classList.toggle("invalid", !ok);
        if (!ok) {
          showMessage(`The '${h.name}' parameter of ${info.name} must be a float in the range ${h.interval.text}. Got ${number.value || "nothing"} instead.`);
          return;
        }
        o.hp[h.name] = v;
        range.value = String(Math.round(Math.min(1000, Math.max(0, sliderPosition(spec, v)))));
        changed();
      });
      card.append(el("div", { class: "hp", title: h.interval.text },
        el("label", { for: id, text: h.name }), range, number));
    }
    box.append(card);
  });
  const add = $("add-optimizer");
  $("add-optimizer-button").disabled = app.s.optimizers.length >= app.catalog.limits.max_optimizers;
  if (!add.children.length) {
    add.append(...app.catalog.optimizers.map((o) => el("option", { value: o.name, text: o.name })));
  }
}

// ------------------------------------------------------------------ player
function syncPlayer() {
  const steps = app.result ? app.result.trajectories.length - 1 : app.s.steps;
  const scrub = $("scrub");
  scrub.max = String(steps);
  scrub.value = String(app.s.t);
  $("step-label").textContent = `${app.s.t} / ${steps}`;
  $("play").replaceChildren(icon(app.playing ? PAUSE_ICON : PLAY_ICON));
  $("play").setAttribute("aria-label", app.playing ? "pause" : "play");
  $("results").dataset.step = String(app.s.t);
  $("results").dataset.playing = app.playing ? "1" : "0";
}

function setStep(t) {
  const steps = app.result ? app.result.trajectories.length - 1 : 0;
  app.s.t = Math.max(0, Math.min(steps, Math.round(t)));
  app.followEnd = app.s.t === steps;
  syncPlayer();
  draw();
  updateUrl();
}

let lastFrame = 0, carry = 0;
function frame(now) {
  if (!app.playing) return;
  const steps = app.result ? app.result.trajectories.length - 1 : 0;
  const dt = lastFrame ? (now - lastFrame) / 1000 : 0;
  lastFrame = now;
  carry += dt * Number($("speed").value);
  const advance = Math.floor(carry);
  carry -= advance;
  if (advance > 0) setStep(Math.min(steps, app.s.t + advance));
  if (app.s.t >= steps) { pause(); return; }
  requestAnimationFrame(frame);
}

function play() {
  if (!app.result) return;
  const steps = app.result.trajectories.length - 1;
  if (app.s.t >= steps) setStep(0);
  app.playing = true;
  lastFrame = 0; carry = 0;
  syncPlayer();
  requestAnimationFrame(frame);
}

function pause() {
  app.playing = false;
  syncPlayer();
}

function buildPlayer() {
  $("play").addEventListener("click", () => (app.playing ? pause() : play()));
  $("step-back").addEventListener("click", () => { pause(); setStep(app.s.t - 1); });
  $("step-forward").addEventListener("click", () => { pause(); setStep(app.s.t + 1); });
  $("to-start").addEventListener("click", () => { pause(); setStep(0); });
  $("to-end").addEventListener("click", () => { pause(); setStep(Infinity); });
  $("scrub").addEventListener("input", (e) => { pause(); setStep(Number(e.target.value)); });
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(tag)) return;
    if (e.key === " ") { e.preventDefault(); app.playing ? pause() : play(); }
    else if (e.key === "ArrowRight") { pause(); setStep(app.s.t + 1); }
    else if (e.key === "ArrowLeft") { pause(); setStep(app.s.t - 1); }
  });
}

// ------------------------------------------------------------------ metrics table
// the lab's metrics (descentlab.lab): -1 in first_within_tol / steps_to_tol / diverged_at means
// "never". Both tolerance steps are shown: a run can get within the tolerance, bounce out and
// settle only much later.
const METRIC_COLUMNS = [
  ["final_loss", "final loss"],
  ["distance", "dist. to min"],
  ["first_within_tol", "first within tol."],
  ["steps_to_tol", "stays within from"],
  ["oscillation", "zig-zag index"],
  ["diverged_at", "diverged at"],
  ["path_length", "path length"],
];
const NEVER = { first_within_tol: "never", steps_to_tol: "never", diverged_at: "–", nearest_minimum: "–" };

function runLabel(run) {
  const hp = Object.entries(run.hyperparameters)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k}=${fmt(v, 3)}`).join(" ");
  return hp;
}

function buildMetrics() {
  const r = app.result;
  const table = $("metrics");
  const cols = METRIC_COLUMNS.filter(([key]) => key in r.metrics);
  const oneStart = app.request.starts.length === 1;
  const head = el("tr", {}, el("th", { class: "left", text: "run" }),
    oneStart ? null : el("th", { class: "left", text: "start" }),
    ...cols.map(([key, label]) => el("th", { text: label, dataset: { metric: key } })));
  table.tHead.replaceChildren(head);
  const colors = colorsFor(app.request.optimizers);
  const body = table.tBodies[0];
  body.replaceChildren();
  r.runs.forEach((run, k) => {
    const color = colors[run.optimizer_index];
    const swatch = el("i");
    swatch.style.background = color;
    const tr = el("tr", { dataset: { run: String(k) } },
      el("td", { class: "left swatch-cell", title: runLabel(run) }, swatch, run.label),
      oneStart ? null : el("td", { class: "left num", text: `(${fmt(run.start[0], 3)}, ${fmt(run.start[1], 3)})` }),
      ...cols.map(([key]) => {
        const v = r.metrics[key][k];
        const text = v === null ? "–" : v === -1 && key in NEVER ? NEVER[key] : fmt(v);
        const cell = el("td", { class: "num", text, dataset: { metric: key } });
        if (key === "diverged_at" && v !== null && v >= 0) cell.classList.add("bad");
        return cell;
      }));
    tr.addEventListener("click", () => { app.s.selected = k; updateUrl(); buildMetricsSelection(); draw(); });
    body.append(tr);
  });
  const tol = r.metric_settings && r.metric_settings.tolerance;
  $("tolerance-note").textContent = tol !== undefined ? `tolerance: loss within ${fmt(tol)} of the minimum` : "";
  buildMetricsSelection();
}

function buildMetricsSelection() {
  for (const tr of $("metrics").tBodies[0].rows) {
    tr.classList.toggle("selected", Number(tr.dataset.run) === app.s.selected);
  }
}

// ------------------------------------------------------------------ drawing
function draw() {
  if (!app.grid) return;
  const r = app.result;
  const t = app.s.t;
  const scene = { t, starts: app.s.starts, runs: [], arrows: [], cloud: null, lookahead: null };
  if (r) {
    const colors = colorsFor(app.request.optimizers);
    const T = r.trajectories.length;
    r.runs.forEach((run, k) => {
      const points = new Array(T);
      for (let i = 0; i < T; i++) {
        const p = r.trajectories[i][k];
        points[i] = p[0] === null || p[1] === null ? null : p;
      }
      scene.runs.push({
        color: colors[run.optimizer_index], points, selected: k === app.s.selected,
        diverged: run.diverged_at !== null && t >= run.diverged_at,
      });
    });
    const overlay = app.inspector.render(r, app.request, app.s.selected, t, colors, app.plot);
    scene.arrows = overlay.arrows;
    scene.lookahead = overlay.lookahead;
    scene.cloud = overlay.cloud;
    app.chart.draw(r.runs.map((run, k) => ({
      color: colors[run.optimizer_index], selected: k === app.s.selected,
      losses: r.losses.map((row) => row[k]),
    })), t);
    buildLegend(colors);
  }
  app.plot.draw(scene);
  $("results").dataset.drawn = String(scene.runs.length);
}

function buildLegend(colors) {
  const legend = $("legend");
  legend.replaceChildren();
  app.request.optimizers.forEach((o, k) => {
    const swatch = el("i");
    swatch.style.background = colors[k];
    legend.append(el("div", {}, swatch, o.name));
  });
  const note = app.inspector.legendNote();
  if (note) legend.append(el("div", { class: "note", text: note }));
}

// ------------------------------------------------------------------ zoom
function onWheel(event) {
  if (!app.grid) return;
  const rect = app.plot.canvas.getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  if (!app.plot.inside(px, py)) return;
  event.preventDefault();
  const [cx, cy] = app.plot.toWorld(px, py);
  const f = event.deltaY > 0 ? 1.2 : 1 / 1.2;
  const [[x0, x1], [y0, y1]] = app.grid.bounds;
  const view = [[cx + (x0 - cx) * f, cx + (x1 - cx) * f], [cy + (y0 - cy) * f, cy + (y1 - cy) * f]];
  app.s.view = view.map(([a, b]) => [Number(a.toPrecision(6)), Number(b.toPrecision(6))]);
  app.grid = { ...app.grid, bounds: app.s.view };
  app.plot.grid = app.grid;
  app.plot.background = null;
  zoomGrid();
  updateUrl();
}
const zoomGrid = debounce(loadGrid, 150);

// ------------------------------------------------------------------ exports
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

function fileStem() {
  const s = app.s.surface;
  return `descentlab-${s.name || "formula"}`;
}

function exportPng() {
  // the plot canvas plus its legend, drawn into one image
  const src = app.plot.canvas;
  const out = document.createElement("canvas");
  out.width = src.width; out.height = src.height;
  const ctx = out.getContext("2d");
  ctx.drawImage(src, 0, 0);
  const dpr = app.plot.dpr;
  ctx.scale(dpr, dpr);
  const names = app.request ? app.request.optimizers.map((o) => o.name) : [];
  const colors = app.request ? colorsFor(app.request.optimizers) : [];
  if (names.length) {
    ctx.font = "12px system-ui, sans-serif";
    const w = Math.max(...names.map((n) => ctx.measureText(n).width)) + 34;
    const h = names.length * 16 + 8;
    const x = app.plot.cssW - 12 - w, y = 12;
    ctx.fillStyle = "rgba(255,255,255,0.9)"; ctx.strokeStyle = "#e2e5ea";
    ctx.fillRect(x, y, w, h); ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    names.forEach((n, k) => {
      ctx.fillStyle = colors[k]; ctx.fillRect(x + 8, y + 10 + k * 16, 14, 3);
      ctx.fillStyle = "#1d2230"; ctx.textBaseline = "middle"; ctx.fillText(n, x + 28, y + 12 + k * 16);
    });
  }
  out.toBlob((blob) => download(blob, `${fileStem()}.png`), "image/png");
}

async function exportServer(kind) {
  if (!app.request) return;
  const button = $(`export-${kind}`);
  if (kind === "gif") {
    // the server refuses a GIF over its run-step limit: say so here, with the way under it
    const limit = app.catalog.limits.max_gif_run_steps;
    const runs = app.request.optimizers.length * app.request.starts.length;
    const steps = app.request.steps;
    if (runs * steps > limit) {
      const fit = Math.floor(limit / runs);
      const fewer = Math.floor(limit / steps);
      showMessage(`A GIF is limited to ${limit.toLocaleString("en")} run-steps (runs x steps); `
        + `these ${runs} runs x ${steps.toLocaleString("en")} steps make `
        + `${(runs * steps).toLocaleString("en")}. Lower the steps to ${fit.toLocaleString("en")} or fewer`
        + (fewer >= 1 ? `, or keep ${fewer} run${fewer > 1 ? "s" : ""} (optimizers x start points)` : "")
        + ".");
      return;
    }
  }
  button.disabled = true;
  showMessage(kind === "gif" ? "Rendering the GIF on the server…" : "Preparing the CSV…", "info");
  try {
    const body = kind === "gif"
      ? { run: app.request, frames: Math.min(60, app.request.steps + 1), fps: 15, bounds: app.grid.bounds }
      : app.request;
    const blob = await postBlob(`/api/export/${kind}`, body);
    download(blob, `${fileStem()}.${kind}`);
    showMessage(null);
  } catch (err) {
    showMessage(err.message);
  } finally {
    button.disabled = false;
  }
}

async function share() {
  updateUrl.cancel();
  ownHash = "#" + encodeState(app.s);
  history.replaceState(null, "", ownHash);
  try {
    await navigator.clipboard.writeText(location.href);
    showMessage("Link copied: it reproduces this view.", "info");
  } catch (_) {
    showMessage(`Link to this view: ${location.href}`, "info");
  }
  setTimeout(() => showMessage(null), 4000);
}

// ------------------------------------------------------------------ start-up
function defaultState() {
  const surfaces = app.catalog.surfaces.surfaces;
  const first = surfaces.find((x) => x.name === "rosenbrock") || surfaces[0];
  const opt = (name, hp) => ({ name, hp: { ...defaultHp(name), ...hp } });
  return {
    surface: { name: first.name }, loss: null, outliers: 0, batchSize: null,
    starts: [first.start.slice()],
    optimizers: [opt("GD", { lr: 0.001 }), opt("Momentum", { lr: 0.001, gamma: 0.9 }),
      opt("Adam", { lr: 0.05 })].filter((o) => optimizerInfo(o.name)),
    steps: 300, seed: 0, tolerance: 1e-3, t: 300, selected: 0, view: null,
  };
}

function applyHash() {
  ownHash = location.hash;
  const base = defaultState();
  const parsed = decodeState(location.hash) || {};
  const s = { ...base, ...parsed };
  const unknown = (parsed.optimizers || []).filter((o) => !optimizerInfo(o.name)).map((o) => o.name);
  if (parsed.surface && parsed.surface.name !== undefined
      && !app.catalog.surfaces.surfaces.some((x) => x.name === parsed.surface.name)) {
    unknown.push(`surface ${parsed.surface.name}`);
    s.surface = base.surface;
    s.starts = parsed.starts || base.starts;
  }
  if (unknown.length) showMessage(`The link names what this version does not know: ${unknown.join(", ")}. Skipped.`, "notice");
  s.optimizers = (parsed.optimizers || base.optimizers)
    .filter((o) => optimizerInfo(o.name))
    .map((o) => {
      const info = optimizerInfo(o.name);
      return { name: info.name, hp: { ...defaultHp(info.name), ...o.hp } };
    });
  if (!s.optimizers.length) s.optimizers = base.optimizers;
  app.s = s;
  if (!isDataSurface()) { s.batchSize = null; s.loss = null; }
  else if (!s.loss) s.loss = (surfaceInfo().data && surfaceInfo().data.loss) || "mse";
  app.followEnd = s.t >= s.steps;
  $("steps").value = String(s.steps);
  $("steps-range").value = String(Math.min(2000, s.steps));
  $("seed").value = String(s.seed);
  $("tolerance").value = String(s.tolerance);
  syncSurfaceControls();
  buildStarts();
  buildOptimizers();
  loadGrid();
  runNow();
}

function buildRunControls() {
  const setSteps = (v) => {
    if (!Number.isFinite(v) || v < 1 || v > app.catalog.limits.max_steps) {
      $("steps").classList.add("invalid");
      showMessage(`steps must be an integer in [1, ${app.catalog.limits.max_steps}]; got ${v}`);
      return;
    }
    $("steps").classList.remove("invalid");
    const wasEnd = app.followEnd;
    app.s.steps = Math.round(v);
    if (wasEnd) app.s.t = app.s.steps;
    changed();
  };
  $("steps-range").addEventListener("input", (e) => { $("steps").value = e.target.value; setSteps(Number(e.target.value)); });
  $("steps").addEventListener("change", (e) => { setSteps(Number(e.target.value)); $("steps-range").value = e.target.value; });
  $("tolerance").addEventListener("change", (e) => {
    const v = Number(e.target.value);
    const ok = e.target.value.trim() !== "" && Number.isFinite(v) && v > 0;
    e.target.classList.toggle("invalid", !ok);
    if (!ok) { showMessage(`tolerance must be a number > 0; got ${e.target.value || "nothing"}`); return; }
    app.s.tolerance = v;
    changed();
  });
  $("seed").addEventListener("change", (e) => {
    // the server's range; a refused value is named, never silently kept or rounded
    const max = 4294967295, text = e.target.value.trim(), v = Number(text);
    const ok = text !== "" && Number.isInteger(v) && v >= 0 && v <= max;
    e.target.classList.toggle("invalid", !ok);
    if (!ok) { showMessage(`seed must be an integer in [0, ${max}]; got ${text || "nothing"}`); return; }
    app.s.seed = v;
    changed();
  });
  $("add-optimizer-button").addEventListener("click", () => {
    if (app.s.optimizers.length >= app.catalog.limits.max_optimizers) return;
    const name = $("add-optimizer").value;
    app.s.optimizers.push({ name, hp: defaultHp(name) });
    buildOptimizers();
    changed();
  });
}

async function main() {
  try {
    const [optimizers, surfaces, limits] = await Promise.all([
      getJSON("/api/optimizers"), getJSON("/api/surfaces"), getJSON("/api/limits"),
    ]);
    app.catalog = { optimizers, surfaces, limits };
  } catch (err) {
    showMessage(`Cannot reach the server: ${err.message}`);
    document.body.dataset.state = "error";
    return;
  }
  app.plot = new ContourPlot($("plot"));
  app.chart = new LossChart($("loss-chart"));
  app.inspector = new Inspector($("inspector"), {
    fmt, el, optimizerInfo, isDataSurface, surfaceSpec, getState: () => app.s,
    onSelect: (k) => { app.s.selected = k; updateUrl(); buildMetricsSelection(); draw(); },
    redraw: () => draw(),
    cloudCount: CLOUD_COUNT,
  });
  buildSurfaceControls();
  buildPlayer();
  buildRunControls();
  $("plot").addEventListener("click", onPlotClick);
  $("plot").addEventListener("wheel", onWheel, { passive: false });
  $("reset-view").addEventListener("click", () => { app.s.view = null; loadGrid(); updateUrl(); });
  $("share").addEventListener("click", share);
  $("export-png").addEventListener("click", exportPng);
  $("export-gif").addEventListener("click", () => exportServer("gif"));
  $("export-csv").addEventListener("click", () => exportServer("csv"));
  window.addEventListener("resize", debounce(() => { app.plot.resize(); app.chart.resize(); draw(); }, 100));
  window.addEventListener("hashchange", () => {
    if (location.hash !== "#" + encodeState(app.s)) applyHash();
  });
  applyHash();
}

main();
