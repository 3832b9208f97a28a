// The contour plot: a filled colour map of the surface, contour lines (marching squares), minima,
// trajectories, start points and the inspector's arrows, on one <canvas>.

const MARGIN = { left: 48, right: 12, top: 12, bottom: 30 };

// viridis, lightened towards white so that coloured paths stay readable on top of it
const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37],
];
const LIGHTEN = 0.42;

export function colormap(u) {
  const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round((a[k] + f * (b[k] - a[k])) * (1 - LIGHTEN) + 255 * LIGHTEN));
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

// A transform of z to [0, 1] for colours and levels: logarithmic when the surface's values are
// skewed (Rosenbrock: a few huge values), linear otherwise (a saddle, a bowl).
export function scaleFor(zRows) {
  const vals = [];
  for (const row of zRows) for (const z of row) if (z !== null && Number.isFinite(z)) vals.push(z);
  vals.sort((a, b) => a - b);
  const zmin = vals.length ? vals[0] : 0;
  const hi = quantile(vals, 0.98);
  const med = quantile(vals, 0.5);
  const span = hi - zmin || 1;
  const log = (med - zmin) / span < 0.12;
  const delta = span * 1e-4;
  const f = log ? (z) => Math.log(z - zmin + delta) : (z) => z;
  const f0 = f(zmin), f1 = f(hi);
  const norm = (z) => (f(z) - f0) / ((f1 - f0) || 1);
  const levels = [];
  const nLevels = 16;
  for (let k = 1; k < nLevels; k++) {
    const u = k / nLevels;
    levels.push(log ? Math.exp(f0 + u * (f1 - f0)) + zmin - delta : f0 + u * (f1 - f0));
  }
  return { norm, levels, log, zmin, zmax: hi };
}

// Marching squares: segments [x0, y0, x1, y1] in grid-index coordinates for one level.
export function isolines(z, level) {
  const ny = z.length, nx = z[0].length;
  const segs = [];
  const interp = (a, b) => (level - a) / (b - a);
  for (let j = 0; j < ny - 1; j++) {
    const r0 = z[j], r1 = z[j + 1];
    for (let i = 0; i < nx - 1; i++) {
      const a = r0[i], b = r0[i + 1], c = r1[i + 1], d = r1[i];
      if (a === null || b === null || c === null || d === null) continue;
      const idx = (a > level ? 8 : 0) | (b > level ? 4 : 0) | (c > level ? 2 : 0) | (d > level ? 1 : 0);
      if (idx === 0 || idx === 15) continue;
      const top = [i + interp(a, b), j];
      const right = [i + 1, j + interp(b, c)];
      const bottom = [i + interp(d, c), j + 1];
      const left = [i, j + interp(a, d)];
      const add = (p, q) => segs.push([p[0], p[1], q[0], q[1]]);
      switch (idx) {
        case 1: case 14: add(left, bottom); break;
        case 2: case 13: add(bottom, right); break;
        case 3: case 12: add(left, right); break;
        case 4: case 11: add(top, right); break;
        case 6: case 9: add(top, bottom); break;
        case 7: case 8: add(left, top); break;
        case 5: add(left, top); add(bottom, right); break;
        case 10: add(top, right); add(left, bottom); break;
        default: break;
      }
    }
  }
  return segs;
}

export class ContourPlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.grid = null;
    this.background = null; // an offscreen canvas with the colour map and contour lines
    this.resize();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    const w = Math.max(320, Math.round(rect.width)), h = Math.max(240, Math.round(rect.height));
    this.cssW = w; this.cssH = h; this.dpr = dpr;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.background = null;
  }

  get plotBox() {
    return { x: MARGIN.left, y: MARGIN.top, w: this.cssW - MARGIN.left - MARGIN.right,
             h: this.cssH - MARGIN.top - MARGIN.bottom };
  }

  setGrid(grid) {
    this.grid = grid;
    this.scale = scaleFor(grid.z);
    this.background = null;
  }

  // world (x, y) -> canvas CSS pixels
  toPixel(x, y) {
    const [[x0, x1], [y0, y1]] = this.grid.bounds;
    const b = this.plotBox;
    return [b.x + ((x - x0) / (x1 - x0)) * b.w, b.y + (1 - (y - y0) / (y1 - y0)) * b.h];
  }

  toWorld(px, py) {
    const [[x0, x1], [y0, y1]] = this.grid.bounds;
    const b = this.plotBox;
    return [x0 + ((px - b.x) / b.w) * (x1 - x0), y0 + (1 - (py - b.y) / b.h) * (y1 - y0)];
  }

  inside(px, py) {
    const b = this.plotBox;
    return px >= b.x && px <= b.x + b.w && py >= b.y && py <= b.y + b.h;
  }

  renderBackground() {
    const g = this.grid;
    const nx = g.x.length, ny = g.y.length;
    // colour map at grid resolution, drawn scaled (smoothed) into the plot box
    const img = document.createElement("canvas");
    img.width = nx; img.height = ny;
    const ictx = img.getContext("2d");
    const data = ictx.createImageData(nx, ny);
    for (let j = 0; j < ny; j++) {
      const row = g.z[j];
      for (let i = 0; i < nx; i++) {
        const o = ((ny - 1 - j) * nx + i) * 4; // row 0 of z is y = ymin: bottom of the image
        const z = row[i];
        const [r, gg, b] = z === null ? [250, 250, 250] : colormap(this.scale.norm(z));
        data.data[o] = r; data.data[o + 1] = gg; data.data[o + 2] = b; data.data[o + 3] = 255;
      }
    }
    ictx.putImageData(data, 0, 0);

    const bg = document.createElement("canvas");
    bg.width = this.canvas.width; bg.height = this.canvas.height;
    const ctx = bg.getContext("2d");
    ctx.scale(this.dpr, this.dpr);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.cssW, this.cssH);
    const b = this.plotBox;
    ctx.imageSmoothingEnabled = true;
    // each grid value is a pixel centre: stretch half a cell beyond the first and last centres
    const cw = b.w / (nx - 1), ch = b.h / (ny - 1);
    ctx.save();
    ctx.beginPath(); ctx.rect(b.x, b.y, b.w, b.h); ctx.clip();
    ctx.drawImage(img, b.x - cw / 2, b.y - ch / 2, b.w + cw, b.h + ch);

    // contour lines
    ctx.lineWidth = 0.8;
    ctx.strokeStyle = "rgba(30, 40, 70, 0.35)";
    const sx = b.w / (nx - 1), sy = b.h / (ny - 1);
    ctx.beginPath();
    for (const level of this.scale.levels) {
      for (const [i0, j0, i1, j1] of isolines(g.z, level)) {
        ctx.moveTo(b.x + i0 * sx, b.y + b.h - j0 * sy);
        ctx.lineTo(b.x + i1 * sx, b.y + b.h - j1 * sy);
      }
    }
    ctx.stroke();
    ctx.restore();

    // frame and ticks
    ctx.strokeStyle = "#98a2b3"; ctx.lineWidth = 1;
    ctx.strokeRect(b.x + 0.5, b.y + 0.5, b.w - 1, b.h - 1);
    ctx.fillStyle = "#475467"; ctx.font = "11px system-ui, sans-serif";
    const [[x0, x1], [y0, y1]] = g.bounds;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of niceTicks(x0, x1, 7)) {
      const [px] = this.toPixel(t, y0);
      ctx.fillRect(px, b.y + b.h, 1, 4);
      ctx.fillText(fmtTick(t), px, b.y + b.h + 6);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of niceTicks(y0, y1, 6)) {
      const [, py] = this.toPixel(x0, t);
      ctx.fillRect(b.x - 4, py, 4, 1);
      ctx.fillText(fmtTick(t), b.x - 6, py);
    }
    ctx.fillStyle = "#98a2b3"; ctx.font = "italic 11px system-ui, sans-serif";
    ctx.textAlign = "left"; ctx.textBaseline = "bottom";
    const [ax, ay] = g.axes || ["x", "y"];
    ctx.fillText(ax, b.x + b.w - 10, this.cssH - 2);
    ctx.textAlign = "left"; ctx.textBaseline = "top";
    ctx.fillText(ay, 4, b.y);
    this.background = bg;
  }

  // scene: {minima, starts, runs: [{color, points: [[x,y]|null...], current}], arrows: [...],
  //         cloud: {origin, points}, lookahead: [x,y]|null, selected}
  draw(scene) {
    if (!this.grid) return;
    if (!this.background) this.renderBackground();
    // where the plot is, for tests and tools: CSS pixels of the plot box and its world bounds
    this.canvas.dataset.box = JSON.stringify(this.plotBox);
    this.canvas.dataset.bounds = JSON.stringify(this.grid.bounds);
    // the arrows drawn, in world units ({from, to, label}), so tests can check them against the
    // server's recorded numbers
    this.canvas.dataset.arrows = JSON.stringify((scene.arrows || []).map((a) => ({ from: a.from, to: a.to, label: a.label ?? null })));
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.background, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const b = this.plotBox;
    ctx.save();
    ctx.beginPath(); ctx.rect(b.x, b.y, b.w, b.h); ctx.clip();

    for (const m of this.grid.minima || []) this.star(m[0], m[1]);

    for (const run of scene.runs) this.path(run, scene.t);

    if (scene.cloud) {
      ctx.fillStyle = "rgba(20, 20, 20, 0.45)";
      for (const p of scene.cloud.points) {
        const [px, py] = this.toPixel(p[0], p[1]);
        ctx.beginPath(); ctx.arc(px, py, 2, 0, 2 * Math.PI); ctx.fill();
      }
    }
    for (const a of scene.arrows || []) this.arrow(a.from, a.to, a.color, a.dash);
    if (scene.lookahead) {
      const [px, py] = this.toPixel(scene.lookahead[0], scene.lookahead[1]);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(px, py, 5, 0, 2 * Math.PI); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(px - 7, py); ctx.lineTo(px + 7, py);
      ctx.moveTo(px, py - 7); ctx.lineTo(px, py + 7); ctx.stroke();
    }
    for (const s of scene.starts) {
      const [px, py] = this.toPixel(s[0], s[1]);
      ctx.fillStyle = "#ffffff"; ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.rect(px - 4.5, py - 4.5, 9, 9); ctx.fill(); ctx.stroke();
    }
    ctx.restore();
  }

  star(x, y) {
    const ctx = this.ctx;
    const [px, py] = this.toPixel(x, y);
    ctx.save();
    ctx.translate(px, py);
    ctx.beginPath();
    for (let k = 0; k < 10; k++) {
      const r = k % 2 ? 3.2 : 8;
      const a = -Math.PI / 2 + (k * Math.PI) / 5;
      ctx.lineTo(r * Math.cos(a), r * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = "#ffffff"; ctx.strokeStyle = "#1d2230"; ctx.lineWidth = 1.2;
    ctx.fill(); ctx.stroke();
    ctx.restore();
  }

  path(run, t) {
    const ctx = this.ctx;
    const pts = run.points;
    const drawSpan = (from, to, alpha, width, color = run.color) => {
      ctx.globalAlpha = alpha; ctx.lineWidth = width; ctx.strokeStyle = color;
      ctx.lineJoin = "round"; ctx.lineCap = "round";
      ctx.beginPath();
      let pen = false;
      for (let k = from; k <= to && k < pts.length; k++) {
        const p = pts[k];
        if (!p) { pen = false; continue; }
        const [px, py] = this.toPixel(p[0], p[1]);
        if (!Number.isFinite(px) || !Number.isFinite(py) || Math.abs(px) > 1e6 || Math.abs(py) > 1e6) {
          pen = false; continue;
        }
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    };
    drawSpan(t, pts.length - 1, 0.3, 1.5);
    drawSpan(0, t, 0.8, run.selected ? 5.5 : 4.5, "#ffffff"); // a halo keeps paths readable
    drawSpan(0, t, 1, run.selected ? 2.6 : 2);
    ctx.globalAlpha = 1;
    // the iterates up to t, as small dots when there are few of them
    if (t <= 60) {
      ctx.fillStyle = run.color;
      for (let k = 0; k <= t && k < pts.length; k++) {
        if (!pts[k]) continue;
        const [px, py] = this.toPixel(pts[k][0], pts[k][1]);
        ctx.beginPath(); ctx.arc(px, py, 1.8, 0, 2 * Math.PI); ctx.fill();
      }
    }
    // the current point
    let k = Math.min(t, pts.length - 1);
    while (k > 0 && !pts[k]) k--;
    if (pts[k]) {
      const [px, py] = this.toPixel(pts[k][0], pts[k][1]);
      ctx.fillStyle = run.color; ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, run.selected ? 6 : 5, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      if (run.diverged) {
        ctx.strokeStyle = "#b42318"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(px - 6, py - 6); ctx.lineTo(px + 6, py + 6);
        ctx.moveTo(px + 6, py - 6); ctx.lineTo(px - 6, py + 6); ctx.stroke();
      }
    }
  }

  arrow(from, to, color, dash) {
    const ctx = this.ctx;
    const [x0, y0] = this.toPixel(from[0], from[1]);
    const [x1, y1] = this.toPixel(to[0], to[1]);
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (!(len > 1)) return;
    const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
    ctx.save();
    ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.lineWidth = 5;
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1 - ux * 6, y1 - uy * 6); ctx.stroke();
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2.2;
    if (dash) ctx.setLineDash([5, 3]);
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1 - ux * 6, y1 - uy * 6); ctx.stroke();
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - ux * 10 - uy * 4.5, y1 - uy * 10 + ux * 4.5);
    ctx.lineTo(x1 - ux * 10 + uy * 4.5, y1 - uy * 10 - ux * 4.5);
    ctx.closePath(); ctx.fill();
    ctx.restore();
  }

  // pixels per world unit along x and y (for choosing arrow scales)
  pixelsPerUnit() {
    const [[x0, x1], [y0, y1]] = this.grid.bounds;
    const b = this.plotBox;
    return [b.w / (x1 - x0), b.h / (y1 - y0)];
  }
}

export function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => span / s <= count) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

export function fmtTick(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}
