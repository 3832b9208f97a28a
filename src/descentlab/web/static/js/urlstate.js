// The whole view lives in the URL's hash, readable and editable by hand, e.g.
//   #s=rosenbrock&p=-1.2,1&o=GD(lr=0.001);Adam(lr=0.05,beta1=0.9,beta2=0.999,eps=1e-8)&n=200&seed=0&t=50
// keys: s surface name | f formula, loss, out (outliers), bs (minibatch size; absent = full batch), p start points
// (x,y;x,y), o optimizers with every hyperparameter, n steps, seed, tol tolerance of the
// steps-to-tolerance metric (absent = 0.001), t current step, sel selected
// run, v view window (xmin,xmax,ymin,ymax; absent = the surface's bounds).

const KEEP = { "%2C": ",", "%3B": ";", "%3D": "=", "%3A": ":", "%2F": "/" };

function enc(value) {
  return encodeURIComponent(String(value)).replace(/%2C|%3B|%3D|%3A|%2F/g, (m) => KEEP[m]);
}

function num(text) {
  const v = Number(text);
  return text !== "" && Number.isFinite(v) ? v : null;
}

export function encodeState(s) {
  const parts = [];
  if (s.surface.expression !== undefined) parts.push(`f=${enc(s.surface.expression)}`);
  else parts.push(`s=${enc(s.surface.name)}`);
  if (s.loss) parts.push(`loss=${enc(s.loss)}`);
  if (s.outliers) parts.push(`out=${s.outliers}`);
  if (s.batchSize) parts.push(`bs=${s.batchSize}`);
  parts.push(`p=${s.starts.map((p) => `${p[0]},${p[1]}`).join(";")}`);
  const opts = s.optimizers.map((o) => {
    const hp = Object.entries(o.hp).map(([k, v]) => `${k}=${v}`).join(",");
    return `${o.name}(${hp})`;
  });
  parts.push(`o=${enc(opts.join(";"))}`);
  parts.push(`n=${s.steps}`, `seed=${s.seed}`, `t=${s.t}`);
  if (s.tolerance !== undefined && s.tolerance !== 1e-3) parts.push(`tol=${s.tolerance}`);
  if (s.selected) parts.push(`sel=${s.selected}`);
  if (s.view) parts.push(`v=${s.view.flat().join(",")}`);
  return parts.join("&");
}

// Returns a partial state (only what the hash says); the app fills the rest with defaults and
// lets the server validate names and values.
export function decodeState(hash) {
  const text = hash.replace(/^#/, "");
  if (!text) return null;
  const kv = {};
  for (const part of text.split("&")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    try {
      kv[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1).replace(/\+/g, "%20"));
    } catch (_) { /* a malformed escape: ignore this key */ }
  }
  const out = {};
  if (kv.f !== undefined) out.surface = { expression: kv.f };
  else if (kv.s) out.surface = { name: kv.s };
  if (kv.loss) out.loss = kv.loss;
  if (kv.bs && num(kv.bs)) out.batchSize = Math.round(num(kv.bs));
  if (kv.out && num(kv.out) !== null) out.outliers = Math.round(num(kv.out));
  if (kv.p) {
    const starts = kv.p.split(";").map((q) => q.split(",").map(num))
      .filter((q) => q.length === 2 && q[0] !== null && q[1] !== null);
    if (starts.length) out.starts = starts;
  }
  if (kv.o) {
    const opts = [];
    for (const item of kv.o.split(";")) {
      const m = /^\s*([A-Za-z]\w*)\s*\((.*)\)\s*$/.exec(item) || /^\s*([A-Za-z]\w*)\s*$/.exec(item);
      if (!m) continue;
      const hp = {};
      for (const pair of (m[2] || "").split(",")) {
        const j = pair.indexOf("=");
        if (j < 0) continue;
        const key = pair.slice(0, j).trim(), val = pair.slice(j + 1).trim();
        hp[key] = num(val) !== null ? num(val) : val;
      }
      opts.push({ name: m[1], hp });
    }
    if (opts.length) out.optimizers = opts;
  }
  if (num(kv.n ?? "") !== null) out.steps = Math.round(num(kv.n));
  if (num(kv.seed ?? "") !== null) out.seed = Math.round(num(kv.seed));
  if (num(kv.t ?? "") !== null) out.t = Math.round(num(kv.t));
  if (num(kv.tol ?? "") !== null && num(kv.tol) > 0) out.tolerance = num(kv.tol);
  if (num(kv.sel ?? "") !== null) out.selected = Math.round(num(kv.sel));
  if (kv.v) {
    const v = kv.v.split(",").map(num);
    if (v.length === 4 && v.every((q) => q !== null) && v[0] < v[1] && v[2] < v[3]) {
      out.view = [[v[0], v[1]], [v[2], v[3]]];
    }
  }
  return out;
}
