// The inspector: one run's internal state at the current step, as numbers (a table) and as arrows on
// the contour plot.
//
// Conventions (the server's answer to POST /api/run, "states" at theta_t): states.grad[t] is
// the gradient the step t -> t+1 uses, evaluated at states.lookahead[t] (NAG: theta_t - gamma v_t;
// the others: theta_t); the buffers (v, m, G, s) are the state after t steps; states.step_size[t]
// is the per-axis step size of the step t -> t+1 (|delta theta_i| / |g_i|).
//
// The code that teaches is the code that runs: every arrow joins points the server recorded for
// this step, and no optimizer's formula is repeated here. Drawn from theta_t: the step actually
// taken, theta_{t+1} - theta_t; where the gradient was taken elsewhere (NAG's look-ahead point,
// states.lookahead) the step is also drawn as its two recorded legs, theta_t -> look-ahead (the
// momentum step) and look-ahead -> theta_{t+1} (the gradient step there), as in CS231n's picture.
// Momentum's split of its step into -gamma v and -lr g, or Adam's -lr m-hat, is not drawn: the
// server records neither part (it would need a per-step field such as the step taken with g = 0,
// computed by the optimizer itself). The buffers are shown as recorded, with no bias correction
// recomputed here (Adam's and Nadam's variants differ on it). When the arrows are too short to
// see, all are magnified by the same factor k (shown in the legend), so their relative sizes stay
// true. The minibatch cloud (-lr g for other minibatches) is drawn only at steps the server
// recorded as exactly -lr g (GD, SGD; Momentum's first step), where it shows the steps the other
// minibatches would have taken.

import { postJSON } from "./api.js";

const ARROW = { grad: "#1d2230", momentum: "#e8590c", step: "#868e96" };
const MIN_PX = 64, MAX_PX = 240, MAX_MAGNIFICATION = 1e4;
const NICE = [1, 2, 5];

function vec(a) {
  return Array.isArray(a) && a[0] !== null && a[1] !== null && a[0] !== undefined ? a : null;
}

function magnification(maxPx) {
  if (!(maxPx > 0) || !Number.isFinite(maxPx)) return 1;
  if (maxPx >= MIN_PX && maxPx <= MAX_PX) return 1;
  const want = (maxPx < MIN_PX ? MIN_PX : MAX_PX) / maxPx;
  // a 1-2-5 number: at least `want` when magnifying, at most `want` when shrinking
  const e = Math.floor(Math.log10(want));
  const candidates = [];
  for (let p = e - 1; p <= e + 1; p++) for (const n of NICE) candidates.push(n * 10 ** p);
  const k = maxPx < MIN_PX ? candidates.find((c) => c >= want)
    : [...candidates].reverse().find((c) => c <= want);
  return Math.min(k ?? want, MAX_MAGNIFICATION);
}

export class Inspector {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx; // helpers and callbacks from app.js
    this.k = 1;
    this.cloudCache = new Map();
    this.cloudPending = null;
    this.cloudTimer = null;
  }

  legendNote() {
    return this.note || "";
  }

  // fills the panel and returns the overlay for the plot: {arrows, lookahead, cloud}
  render(result, request, selected, t, colors, plot) {
    const { fmt, el } = this.ctx;
    const overlay = { arrows: [], lookahead: null, cloud: null };
    this.note = "";
    const runs = result.runs;
    if (!runs.length) return overlay;
    const k = Math.min(selected, runs.length - 1);
    const run = runs[k];
    const steps = result.trajectories.length - 1;
    const st = result.states || {};
    const at = (name, i = t) => (st[name] && st[name][i] ? vec(st[name][i][k]) : null);
    const theta = vec(result.trajectories[t][k]);
    const next = t < steps ? vec(result.trajectories[t + 1][k]) : null;
    const g = at("grad");
    const look = at("lookahead");
    const hp = run.hyperparameters;
    const lr = typeof hp.lr === "number" ? hp.lr : 1;
    const name = run.optimizer;

    // ---- arrows: differences of recorded points, drawn from theta_t
    const parts = [];
    const apart = (p, q) => Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) > 0;
    if (theta && next) {
      if (look && apart(look, theta)) {
        parts.push({ from: theta, d: [look[0] - theta[0], look[1] - theta[1]], color: ARROW.momentum, dash: true, label: "to the look-ahead" });
        parts.push({ from: look, d: [next[0] - look[0], next[1] - look[1]], color: ARROW.grad, label: "gradient step there" });
      }
      parts.push({ from: theta, d: [next[0] - theta[0], next[1] - theta[1]], color: ARROW.step, label: "step taken" });
    }
    let maxPx = 0;
    const [ppx, ppy] = plot.pixelsPerUnit();
    for (const p of parts) maxPx = Math.max(maxPx, Math.hypot(p.d[0] * ppx, p.d[1] * ppy));
    const kk = magnification(maxPx);
    this.k = kk;
    // magnify about theta_t: a leg that starts elsewhere (the look-ahead) starts at its magnified point
    const scaled = (q) => [theta[0] + kk * (q[0] - theta[0]), theta[1] + kk * (q[1] - theta[1])];
    for (const p of parts) {
      const from = scaled(p.from);
      overlay.arrows.push({ from, to: [from[0] + kk * p.d[0], from[1] + kk * p.d[1]], color: p.color, dash: p.dash, label: p.label });
    }
    if (look && theta && next && apart(look, theta)) overlay.lookahead = scaled(look);
    this.note = parts.length ? (kk === 1 ? "arrows at true scale" : `arrows ×${fmt(kk, 3)}`) : "";

    // ---- minibatch cloud (data surfaces with a batch size)
    const bs = request.batch_size;
    // the recorded step is -lr g (to rounding): the cloud of -lr g_i is the steps other minibatches give
    const plainStep = theta && next && g && typeof hp.lr === "number" && [0, 1].every((i) => {
      const want = -hp.lr * g[i], got = next[i] - theta[i];
      return Math.abs(got - want) <= 1e-9 * Math.max(Math.abs(want), Math.abs(got), Math.abs(theta[i]) * 1e-6);
    });
    if (this.ctx.isDataSurface() && bs && theta && t < steps && plainStep) {
      const key = JSON.stringify([request.surface, theta, bs, request.seed]);
      const cached = this.cloudCache.get(key);
      if (cached) {
        const base = theta;
        overlay.cloud = { points: cached.grads.map((q) => [base[0] - kk * lr * q[0], base[1] - kk * lr * q[1]]) };
        overlay.arrows.push({ from: base, to: [base[0] - kk * lr * cached.full[0], base[1] - kk * lr * cached.full[1]], color: "#0b7285", label: "full-batch step" });
        this.cloud = cached;
      } else {
        this.requestCloud(key, request, theta, bs);
      }
    } else {
      this.cloud = null;
    }

    // ---- the panel
    const select = el("select", { "aria-label": "run to inspect", id: "inspect-run" },
      ...runs.map((r, i) => el("option", { value: String(i), text: `${i + 1}. ${r.optimizer} from (${fmt(r.start[0], 3)}, ${fmt(r.start[1], 3)})` })));
    select.value = String(k);
    select.addEventListener("change", () => this.ctx.onSelect(Number(select.value)));
    const rows = [];
    const row = (label, sym, value, cls = "") => rows.push(el("tr", { class: cls },
      el("td", {}, label, " ", el("span", { class: "sym", text: sym })),
      ...(Array.isArray(value)
        ? value.map((x) => el("td", { class: "num", text: fmt(x) }))
        : [el("td", { class: "num", colspan: "2", text: value === null ? "–" : fmt(value) })])));
    const loss = result.losses[t] ? result.losses[t][k] : null;
    row("position", "θ", theta || [null, null]);
    row("loss", "J(θ)", loss);
    if (look && name === "NAG") row("look-ahead", "θ − γv", look);
    if (g) row(name === "NAG" ? "gradient there" : "gradient", "g", g);
    for (const [sym, label] of [["m", "first moment"],
      ["v", name === "Adam" || name === "Nadam" ? "second moment" : "velocity"],
      ["G", name === "Adagrad" ? "sum of g²" : "mean of g²"],
      ["s", "mean of Δθ²"]]) {
      const val = at(sym);
      if (val) row(label, sym, val);
    }
    const eff = at("step_size");
    if (eff) row("effective step", "−Δθ/g", eff);
    if (theta && next) row("next step", "Δθ", [next[0] - theta[0], next[1] - theta[1]]);
    if (run.diverged_at !== null && run.diverged_at !== undefined) {
      rows.push(el("tr", { class: "bad" }, el("td", { colspan: "3", text: `diverged at step ${run.diverged_at}` })));
    }
    const table = el("table", {},
      el("thead", {}, el("tr", {}, el("th", { class: "left", text: `step ${t}` }), el("th", { text: "x / w" }), el("th", { text: "y / b" }))),
      el("tbody", {}, ...rows));
    const key = el("div", { class: "key" });
    const keyItem = (color, text) => {
      const i = el("i");
      i.style.background = color;
      key.append(el("span", {}, i, text));
    };
    for (const p of parts) keyItem(p.color, p.label);
    if (overlay.cloud) keyItem("#0b7285", `full-batch −lr·g, dots: ${this.cloud.count} minibatches of ${bs}`);
    else if (this.ctx.isDataSurface() && bs && theta && next && !plainStep) {
      key.append(el("span", { text: "no minibatch cloud: this step is not −lr·g" }));
    }
    if (overlay.lookahead) keyItem("#111", "⊕ look-ahead");
    if (this.note) key.append(el("span", { text: this.note }));
    this.root.replaceChildren(select, table, key);
    this.root.dataset.run = String(k);
    this.root.dataset.step = String(t);
    return overlay;
  }

  requestCloud(key, request, theta, bs) {
    clearTimeout(this.cloudTimer);
    this.cloudTimer = setTimeout(async () => {
      if (this.cloudPending === key) return;
      this.cloudPending = key;
      try {
        const answer = await postJSON("/api/cloud", {
          surface: request.surface, point: theta, batch_size: bs, count: this.ctx.cloudCount,
          seed: request.seed,
        });
        if (this.cloudCache.size > 200) this.cloudCache.clear();
        this.cloudCache.set(key, answer);
        this.ctx.redraw();
      } catch (_) {
        /* the cloud is decoration: a refused request leaves it out */
      } finally {
        if (this.cloudPending === key) this.cloudPending = null;
      }
    }, 120);
  }
}
