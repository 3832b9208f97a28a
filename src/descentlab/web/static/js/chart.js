// Loss vs step: one line per run, logarithmic y axis when every loss is positive, a cursor at the
// current step. The y axis ends one decade above the largest starting loss (linear axis: one
// starting range above it): a diverging run leaves the axis at its top edge, marked with a
// triangle, instead of stretching the axis to 1e11 and flattening every other curve. The axis
// range and the number of clipped runs are in the canvas's data-yrange / data-clipped.

import { fmtTick, niceTicks } from "./plot.js";

const M = { left: 52, right: 10, top: 20, bottom: 26 }; // top: room for the off-scale note

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.resize();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.w = Math.max(240, Math.round(rect.width));
    this.h = Math.max(150, Math.round(rect.height));
    this.dpr = dpr;
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
  }

  // An empty chart with a short note (wrapped to the chart's width), e.g. after a refused run.
  clear(note) {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, this.w, this.h);
    ctx.fillStyle = "#667085"; ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
    const width = this.w - 2 * M.right - 8;
    let line = "", y = M.top + 18;
    for (const word of String(note).split(" ")) {
      const next = line ? `${line} ${word}` : word;
      if (line && ctx.measureText(next).width > width) {
        ctx.fillText(line, M.right + 4, y); y += 16; line = word;
      } else line = next;
    }
    if (line) ctx.fillText(line, M.right + 4, y);
    this.canvas.dataset.note = String(note);
    this.canvas.dataset.clipped = "0";
  }

  // series: [{color, losses: [number|null], selected}], t: current step
  draw(series, t) {
    const ctx = this.ctx;
    delete this.canvas.dataset.note;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, this.w, this.h);
    const box = { x: M.left, y: M.top, w: this.w - M.left - M.right, h: this.h - M.top - M.bottom };
    const vals = [];
    let n = 0;
    for (const s of series) {
      n = Math.max(n, s.losses.length);
      for (const v of s.losses) if (v !== null && Number.isFinite(v)) vals.push(v);
    }
    if (!vals.length || n < 2) {
      ctx.fillStyle = "#98a2b3"; ctx.font = "12px system-ui, sans-serif";
      ctx.fillText("no finite losses", box.x + 8, box.y + 18);
      return;
    }
    vals.sort((a, b) => a - b);
    const positive = vals[0] > 0;
    let lo = vals[0], hi = vals[vals.length - 1];
    const f = positive ? Math.log10 : (v) => v;
    // the largest starting loss: losses far above it are a divergence, not a scale to draw
    const firsts = series.map((s) => s.losses.find((v) => v !== null && Number.isFinite(v)))
      .filter((v) => v !== undefined);
    const start = Math.max(...firsts);
    let f0 = f(lo), f1 = f(hi);
    if (positive) {
      f1 = Math.min(f1, f(start) + 1); // one decade above the largest start
      f0 = Math.floor(f0); f1 = Math.ceil(f1);
      if (f1 - f0 > 14) f0 = f1 - 14; // the interesting part: 14 decades below the top
      if (f1 <= f0) f1 = f0 + 1;
    } else {
      f1 = Math.min(f1, start + Math.max(start - lo, 1e-12)); // one starting range above it
      if (f1 <= f0) { f0 -= 1; f1 += 1; }
    }
    const X = (k) => box.x + (k / (n - 1)) * box.w;
    const Y = (v) => box.y + (1 - (Math.min(Math.max(f(v), f0), f1) - f0) / (f1 - f0)) * box.h;
    const off = series.map((s) => s.losses.findIndex(
      (v) => v !== null && Number.isFinite(v) && f(v) > f1 + 1e-9));
    const clipped = off.filter((k) => k >= 0).length;
    this.canvas.dataset.yrange = JSON.stringify(positive ? [10 ** f0, 10 ** f1] : [f0, f1]);
    this.canvas.dataset.clipped = String(clipped);

    // axes and grid
    ctx.strokeStyle = "#eef0f3"; ctx.lineWidth = 1;
    ctx.fillStyle = "#475467"; ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const yticks = positive ? decades(f0, f1) : niceTicks(f0, f1, 5);
    for (const v of yticks) {
      const py = box.y + (1 - (v - f0) / (f1 - f0)) * box.h;
      ctx.beginPath(); ctx.moveTo(box.x, py); ctx.lineTo(box.x + box.w, py); ctx.stroke();
      ctx.fillText(positive ? `1e${v}` : fmtTick(v), box.x - 5, py);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const k of niceTicks(0, n - 1, 6)) {
      ctx.fillText(String(k), X(k), box.y + box.h + 5);
    }
    ctx.strokeStyle = "#98a2b3";
    ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);

    ctx.save();
    ctx.beginPath(); ctx.rect(box.x, box.y, box.w, box.h); ctx.clip();
    for (const s of series) {
      ctx.strokeStyle = s.color; ctx.lineWidth = s.selected ? 2.2 : 1.5;
      ctx.beginPath();
      let pen = false;
      s.losses.forEach((v, k) => {
        if (v === null || !Number.isFinite(v) || (positive && v <= 0)) { pen = false; return; }
        const px = X(k), py = Y(v);
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      });
      ctx.stroke();
    }
    // where a run leaves the top of the axis: a triangle in its colour on the top edge
    series.forEach((s, i) => {
      if (off[i] < 0) return;
      const px = X(off[i]);
      ctx.fillStyle = s.color; ctx.strokeStyle = "#1d2230"; ctx.lineWidth = 0.8;
      ctx.beginPath(); ctx.moveTo(px - 5, box.y + 9); ctx.lineTo(px + 5, box.y + 9);
      ctx.lineTo(px, box.y + 1); ctx.closePath(); ctx.fill(); ctx.stroke();
    });
    // cursor
    const cx = X(Math.min(t, n - 1));
    ctx.strokeStyle = "rgba(29, 34, 48, 0.5)"; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(cx, box.y); ctx.lineTo(cx, box.y + box.h); ctx.stroke();
    ctx.setLineDash([]);
    for (const s of series) {
      const v = s.losses[Math.min(t, s.losses.length - 1)];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      ctx.fillStyle = s.color;
      ctx.beginPath(); ctx.arc(cx, Y(v), 3, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.restore();
    ctx.fillStyle = "#98a2b3"; ctx.font = "italic 11px system-ui, sans-serif";
    ctx.textAlign = "right"; ctx.textBaseline = "bottom";
    ctx.fillText("step", box.x + box.w, this.h - 1);
    if (clipped) {
      ctx.fillStyle = "#475467"; ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "left"; ctx.textBaseline = "top";
      ctx.fillText(`▲ ${clipped} run${clipped > 1 ? "s" : ""} off scale (diverging)`, box.x, 3);
    }
  }
}

function decades(f0, f1) {
  const step = Math.max(1, Math.ceil((f1 - f0) / 6));
  const out = [];
  for (let v = f0; v <= f1; v += step) out.push(v);
  return out;
}
