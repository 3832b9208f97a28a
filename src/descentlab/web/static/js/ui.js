// What the playground page (app.js) and the notebook widget (descentlab.widget.Playground) share
// besides the plot, the loss chart and the inspector: number formatting, building elements, the
// runs' colours, and the mapping between a hyperparameter's value and its slider's position.
// Plain ES module without imports: the widget inlines it (see descentlab/widget/_bundle.py).

// the lab's figure colours (descentlab.lab), so the page and the figures agree
export const COLORS = {
  GD: "#1f77b4", SGD: "#17becf", Momentum: "#ff7f0e", NAG: "#d62728", Adagrad: "#2ca02c",
  RMSProp: "#9467bd", AdaDelta: "#8c564b", Adam: "#e377c2", Nadam: "#7f7f7f",
};
const EXTRA = ["#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

export function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 2);
  return String(Number(v.toPrecision(digits)));
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// one colour per optimizer: its lab colour, or a spare one when the same optimizer comes twice
export function colorsFor(optimizers) {
  const used = new Set();
  let extra = 0;
  return optimizers.map((o) => {
    const c = COLORS[o.name];
    if (c && !used.has(c)) { used.add(c); return c; }
    return EXTRA[extra++ % EXTRA.length];
  });
}

// A slider runs over positions 0..1000; `spec` is the server's slider hint for a hyperparameter
// ({scale: "log" | "linear", min, max, step}), see descentlab.web._service._slider.
export function sliderPosition(spec, v) {
  if (spec.scale === "log") {
    if (!(v > 0)) return 0;
    return (1000 * Math.log(v / spec.min)) / Math.log(spec.max / spec.min);
  }
  return (1000 * (v - spec.min)) / (spec.max - spec.min);
}

export function sliderValue(spec, pos) {
  if (spec.scale === "log") {
    const v = spec.min * Math.pow(spec.max / spec.min, pos / 1000);
    return Number(v.toPrecision(3));
  }
  const v = spec.min + ((spec.max - spec.min) * pos) / 1000;
  const step = spec.step || (spec.max - spec.min) / 1000;
  return Number((Math.round(v / step) * step).toPrecision(6));
}

// whether v lies in a hyperparameter's validation interval ({low, high, low_closed, high_closed})
export function inInterval(iv, v) {
  if (!Number.isFinite(v)) return false;
  if (iv.low !== null && (iv.low_closed ? v < iv.low : v <= iv.low)) return false;
  if (iv.high !== null && (iv.high_closed ? v > iv.high : v >= iv.high)) return false;
  return true;
}

// a clicked coordinate, rounded to about a thousandth of the view's span (what a user can aim at)
export function roundCoord(v, span) {
  const digits = Math.max(0, Math.ceil(-Math.log10(span / 1000)));
  return Number(v.toFixed(Math.min(digits, 8)));
}
