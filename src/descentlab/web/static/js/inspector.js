// The inspector: one run's internal state at the current step, as numbers (a table) and as arrows on
// the contour plot.
//
// Conventions (the server's answer to POST /api/run, "states" at theta_t): states.grad[t] is
// the gradient the step t -> t+1 uses, evaluated at states.lookahead[t] (NAG: theta_t - gamma v_t;
// the others: theta_t); the buffers (v, m, G, s) are the state after t steps; states.step_size[t]
// is the per-axis step size of the step t -> t+1 (|delta theta_i| / |g_i|).
//
// Arrows are displacements in the plane, drawn from theta_t: the gradient step -lr g, Momentum's and
// NAG's momentum step -gamma v (NAG's gradient step starts at the look-ahead point, as in CS231n's
// picture, and so ends at theta_{t+1}), Adam's and Nadam's first-moment step -lr mhat, and the step
// actually taken. When they are too short to see, all are magnified by the same factor k (shown in
// the legend), so their relative sizes stay true.

import { postJSON } from "./api.js";

const ARROW = { grad: "#1d2230", momentum: "#e8590c", moment: "#7048e8", step: "#868e96" };
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

    // ---- arrows (displacements from theta_t)
    const parts = [];
    if (theta && g) {
      const base = name === "NAG" && look ? look : theta;
      parts.push({ from: base, d: [-lr * g[0], -lr * g[1]], color: ARROW.grad, label: "−lr·g" });
    }
    const v = at("v"), m = at("m");
    if (theta && (name === "Momentum" || name === "NAG") && v) {
      const gamma = hp.gamma;
      parts.push({ from: theta, d: [-gamma * v[0], -gamma * v[1]], color: ARROW.momentum, dash: true, label: "−γ·v" });
    }
    if (theta && (name === "Adam" || name === "Nadam") && m && t > 0) {
      const c = 1 - Math.pow(hp.beta1, t);
      parts.push({ from: theta, d: [-lr * m[0] / c, -lr * m[1] / c], color: ARROW.moment, dash: true, label: "−lr·m̂" });
    }
    if (theta && next) {
      parts.push({ from: theta, d: [next[0] - theta[0], next[1] - theta[1]], color: ARROW.step, label: "step" });
    }
    // NAG: the gradient step hangs off the look-ahead point; scale the chain together
    let maxPx = 0;
    const [ppx, ppy] = plot.pixelsPerUnit();
    for (const p of parts) maxPx = Math.max(maxPx, Math.hypot(p.d[0] * ppx, p.d[1] * ppy));
    const kk = magnification(maxPx);
    this.k = kk;
    for (const p of parts) {
      let from = p.from;
      if (name === "NAG" && p.label === "−lr·g" && theta && look) {
        from = [theta[0] + kk * (look[0] - theta[0]), theta[1] + kk * (look[1] - theta[1])];
      }
      overlay.arrows.push({ from, to: [from[0] + kk * p.d[0], from[1] + kk * p.d[1]], color: p.color, dash: p.dash });
    }
    if (name === "NAG" && look && theta) {
      overlay.lookahead = [theta[0] + kk * (look[0] - theta[0]), theta[1] + kk * (look[1] - theta[1])];
    }
    this.note = parts.length ? (kk === 1 ? "arrows at true scale" : `arrows ×${fmt(kk, 3)}`) : "";

    // ---- minibatch cloud (data surfaces with a batch size)
    const bs = request.batch_size;
    if (this.ctx.isDataSurface() && bs && theta && t < steps) {
      const key = JSON.stringify([request.surface, theta, bs, request.seed]);
      const cached = this.cloudCache.get(key);
      if (cached) {
        const base = theta;
        overlay.cloud = { points: cached.grads.map((q) => [base[0] - kk * lr * q[0], base[1] - kk * lr * q[1]]) };
        overlay.arrows.push({ from: base, to: [base[0] - kk * lr * cached.full[0], base[1] - kk * lr * cached.full[1]], color: "#0b7285" });
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
    if ((name === "Adam" || name === "Nadam") && t > 0) {
      const vv = at("v");
      if (vv) {
        const c2 = 1 - Math.pow(hp.beta2, t);
        row("2nd moment, corrected", "v̂", [vv[0] / c2, vv[1] / c2]);
      }
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
