// descentlab.widget.Playground's own part of the front end: the controls of a notebook cell, wired
// to the kernel through the widget's traitlets. The drawing (ContourPlot, LossChart), the inspector,
// the slider mapping and the formatting are the playground page's modules, inlined above by
// descentlab/widget/_bundle.py (`sharedModules`).
//
// The kernel computes everything (descentlab.web._service, the page's own validation): this file
// only sends settings (surface, optimizers, start, steps) and draws the answer (`_grid`,
// `_result`, `error`). For tests and tools the root element carries data-state ("busy" while a
// change is on its way to the kernel, "ready" after its answer, "error" when the kernel refused it),
// data-computed (how many answers arrived) and data-start; the plot canvas carries data-box and
// data-bounds (ContourPlot.draw).

const PLAY_SPEED = 100; // steps per second
const SLIDER_DEBOUNCE_MS = 30; // coalesces one gesture's input events into few kernel requests

let requestSeq = 0;

// postJSON for the inspector, answered by the kernel (Playground._on_message) instead of a server
function kernelRequest(model, path, body) {
  const id = ++requestSeq;
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (!msg || msg.type !== "api-answer" || msg.id !== id) return;
      model.off("msg:custom", onMessage);
      if (msg.error) reject(new Error(msg.error)); else resolve(msg.answer);
    };
    model.on("msg:custom", onMessage);
    model.send({ type: "api", id, path, body });
  });
}

function render({ model, el: root }) {
  const M = sharedModules((path, body) => kernelRequest(model, path, body));
  const { el, fmt, colorsFor, sliderPosition, sliderValue, inInterval, roundCoord } = M;
  const catalog = model.get("_catalog");
  const limits = catalog.limits;
  const view = { t: 0, followEnd: true, selected: 0, playing: false, frame: 0, cardsKey: "" };

  // ---------------------------------------------------------------- layout
  const message = el("div", { class: "dl-message", role: "status", "aria-live": "polite", hidden: true });
  const surfaceSelect = el("select", { class: "dl-surface", "aria-label": "surface" });
  const stepsInput = el("input", {
    class: "dl-steps", type: "number", min: "1", max: String(limits.max_steps), step: "1",
    "aria-label": "steps",
  });
  const canvas = el("canvas", { class: "dl-plot", "aria-label": "contour plot with trajectories; click to move the start" });
  const legend = el("div", { class: "dl-legend" });
  const playButton = el("button", { type: "button", class: "dl-play", "aria-label": "play", text: "▶" });
  const scrub = el("input", { type: "range", class: "dl-scrub", min: "0", max: "0", step: "1", value: "0", "aria-label": "step" });
  const stepLabel = el("output", { class: "dl-step-label", text: "0 / 0" });
  const chartCanvas = el("canvas", { class: "dl-chart", "aria-label": "loss vs step" });
  const inspectorBox = el("div", { class: "dl-inspector" });
  const cards = el("div", { class: "dl-cards" });
  const addSelect = el("select", { "aria-label": "optimizer to add" },
    ...catalog.optimizers.map((o) => el("option", { value: o.name, text: o.name })));
  const addButton = el("button", { type: "button", text: "Add" });

  root.classList.add("dl-widget");
  // typing into the widget's fields is not a notebook shortcut (JupyterLab's Enter, A, B, D D ...)
  root.dataset.lmSuppressShortcuts = "true";
  root.addEventListener("keydown", (event) => {
    if (event.target && ["INPUT", "SELECT"].includes(event.target.tagName)) event.stopPropagation();
  });
  root.replaceChildren(
    el("div", { class: "dl-top" },
      el("label", {}, "surface ", surfaceSelect),
      el("label", {}, "steps ", stepsInput),
      el("span", { class: "dl-hint", text: "click the plot to move the start" })),
    message,
    el("div", { class: "dl-main" },
      el("div", { class: "dl-stage" },
        el("div", { class: "dl-plot-wrap" }, canvas, legend),
        el("div", { class: "dl-player" }, playButton, scrub, stepLabel)),
      el("div", { class: "dl-side" },
        el("div", { class: "dl-title", text: "Loss vs step" }), chartCanvas,
        el("div", { class: "dl-title", text: "Inspector" }), inspectorBox)),
    cards,
    el("div", { class: "dl-add" }, addSelect, addButton));

  const plot = new M.ContourPlot(canvas);
  const chart = new M.LossChart(chartCanvas);
  const info = (name) => catalog.optimizers.find((o) => o.name === name) || null;
  const surfaceInfo = () => catalog.surfaces.surfaces.find((s) => s.name === model.get("surface")) || null;
  const inspector = new M.Inspector(inspectorBox, {
    fmt, el, optimizerInfo: info,
    isDataSurface: () => Boolean(surfaceInfo() && surfaceInfo().kind === "data"),
    getState: () => ({}),
    onSelect: (k) => { view.selected = k; schedule(); },
    redraw: () => schedule(),
    cloudCount: 96,
  });

  // ---------------------------------------------------------------- state from the kernel
  function setState(state) { root.dataset.state = state; }

  function showMessage(text) {
    message.hidden = !text;
    message.textContent = text || "";
  }

  function syncSurface() {
    const name = model.get("surface");
    const known = catalog.surfaces.surfaces.some((s) => s.name === name);
    const options = catalog.surfaces.surfaces.map((s) => el("option", { value: s.name, text: s.title || s.name }));
    if (!known) options.push(el("option", { value: name, text: `f(x, y) = ${name}` }));
    surfaceSelect.replaceChildren(...options);
    surfaceSelect.value = name;
  }

  function syncSteps() {
    stepsInput.value = String(model.get("steps"));
    stepsInput.classList.remove("invalid");
  }

  function send(changes) {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    setState("busy");
    model.save_changes();
  }

  // ---------------------------------------------------------------- optimizer cards (sliders)
  function buildCards() {
    const optimizers = model.get("optimizers");
    const colors = colorsFor(optimizers);
    const key = JSON.stringify(optimizers.map((o) => o.name));
    if (key === view.cardsKey) { updateCards(); return; }
    view.cardsKey = key;
    cards.replaceChildren();
    optimizers.forEach((o, k) => {
      const spec = info(o.name);
      if (!spec) return;
      const swatch = el("span", { class: "dl-swatch" });
      swatch.style.background = colors[k];
      const card = el("div", { class: "dl-card", dataset: { opt: String(k), name: o.name } },
        el("div", { class: "dl-card-head" }, swatch, el("strong", { text: o.name, title: spec.summary }),
          el("button", {
            type: "button", class: "dl-remove", text: "×", title: "remove", "aria-label": `remove ${o.name}`,
            disabled: optimizers.length <= 1,
            onclick: () => {
              const next = model.get("optimizers").filter((_, i) => i !== k);
              if (view.selected >= next.length) view.selected = 0;
              send({ optimizers: next });
            },
          })));
      for (const h of spec.hyperparameters) {
        if (h.kind === "choice") {
          const select = el("select", { "aria-label": `${o.name} ${h.name}`, dataset: { hp: h.name } },
            ...h.choices.map((c) => el("option", { value: c, text: c })));
          select.addEventListener("change", () => setHp(k, h.name, select.value));
          card.append(el("label", { class: "dl-hp" }, el("span", { text: h.name }), select));
          continue;
        }
        const range = el("input", {
          type: "range", min: "0", max: "1000", step: "1", "aria-label": `${o.name} ${h.name}`,
          dataset: { hp: h.name },
        });
        const number = el("input", {
          type: "number", step: "any", title: `${h.name} in ${h.interval.text}`, dataset: { hp: h.name },
          "aria-label": `${o.name} ${h.name} value`,
        });
        range.addEventListener("input", () => {
          const v = sliderValue(h.slider, Number(range.value));
          number.value = String(v);
          number.classList.remove("invalid");
          setHpSoon(k, h.name, v);
        });
        number.addEventListener("change", () => {
          const v = Number(number.value);
          if (number.value.trim() === "" || !inInterval(h.interval, v)) {
            number.classList.add("invalid");
            showMessage(`The '${h.name}' parameter of ${o.name} must be a float in the range ${h.interval.text}. Got ${number.value || "nothing"} instead.`);
            setState("error");
            return;
          }
          number.classList.remove("invalid");
          range.value = String(Math.round(Math.min(1000, Math.max(0, sliderPosition(h.slider, v)))));
          setHp(k, h.name, v);
        });
        card.append(el("div", { class: "dl-hp", title: h.interval.text }, el("span", { text: h.name }), range, number));
      }
      cards.append(card);
    });
    updateCards();
  }

  // the cards show the kernel's values (after a change from Python, or a refused one)
  function updateCards() {
    model.get("optimizers").forEach((o, k) => {
      const card = cards.querySelector(`.dl-card[data-opt="${k}"]`);
      if (!card) return;
      const spec = info(o.name);
      for (const h of spec.hyperparameters) {
        const v = o.hyperparameters[h.name] ?? h.default;
        for (const input of card.querySelectorAll(`[data-hp="${h.name}"]`)) {
          if (input === document.activeElement) continue; // leave what the user is typing alone
          if (input.type === "range") input.value = String(Math.round(Math.min(1000, Math.max(0, sliderPosition(h.slider, Number(v))))));
          else { input.value = String(v); input.classList.remove("invalid"); }
        }
      }
    });
  }

  function setHp(k, name, value) {
    const next = model.get("optimizers").map((o, i) => (i === k
      ? { name: o.name, hyperparameters: { ...o.hyperparameters, [name]: value } } : o));
    send({ optimizers: next });
  }
  let hpTimer = null, hpPending = null;
  function setHpSoon(k, name, value) {
    hpPending = [k, name, value];
    setState("busy");
    clearTimeout(hpTimer);
    hpTimer = setTimeout(() => { const p = hpPending; hpPending = null; setHp(...p); }, SLIDER_DEBOUNCE_MS);
  }

  // ---------------------------------------------------------------- drawing
  function draw() {
    view.frame = 0;
    const grid = model.get("_grid");
    if (!grid || !grid.z) return;
    if (plot.grid !== grid) plot.setGrid(grid);
    const result = model.get("_result");
    const start = model.get("start");
    const scene = { t: 0, starts: [start], runs: [], arrows: [], cloud: null, lookahead: null };
    legend.replaceChildren();
    if (result && result.runs) {
      const steps = result.trajectories.length - 1;
      if (view.followEnd || view.t > steps) view.t = steps;
      if (view.selected >= result.runs.length) view.selected = 0;
      const t = view.t;
      scene.t = t;
      const colors = colorsFor(result.request.optimizers);
      result.runs.forEach((run, k) => {
        const points = result.trajectories.map((row) => (row[k][0] === null || row[k][1] === null ? null : row[k]));
        scene.runs.push({ color: colors[run.optimizer_index], points, selected: k === view.selected,
          diverged: run.diverged_at !== null && t >= run.diverged_at });
      });
      const overlay = inspector.render(result, result.request, view.selected, t, colors, plot);
      scene.arrows = overlay.arrows; scene.lookahead = overlay.lookahead; scene.cloud = overlay.cloud;
      chart.draw(result.runs.map((run, k) => ({ color: colors[run.optimizer_index], selected: k === view.selected,
        losses: result.losses.map((row) => row[k]) })), t);
      // an optimizer that appears twice is told apart by its label ("Adam(lr=0.1)")
      const names = result.request.optimizers.map((o) => o.name);
      result.runs.filter((run) => run.start_index === 0).forEach((run) => {
        const k = run.optimizer_index;
        const swatch = el("i");
        swatch.style.background = colors[k];
        const twice = names.filter((n) => n === names[k]).length > 1;
        legend.append(el("div", {}, swatch, twice ? run.label : names[k]));
      });
      const note = inspector.legendNote();
      if (note) legend.append(el("div", { class: "dl-note", text: note }));
      scrub.max = String(steps);
      scrub.value = String(t);
      stepLabel.textContent = `${t} / ${steps}`;
    }
    plot.draw(scene);
    root.dataset.start = JSON.stringify(start);
  }
  function schedule() { if (!view.frame) view.frame = requestAnimationFrame(draw); }

  // any synced value changed (from the kernel, or set here): show it
  function onChange() {
    syncSurface();
    syncSteps();
    buildCards();
    schedule();
  }
  // the kernel answered a change (it bumps _computed with every answer, refused or not)
  function onComputed() {
    const error = model.get("error");
    showMessage(error);
    root.dataset.computed = String(model.get("_computed"));
    if (!hpPending) setState(error ? "error" : "ready");
  }

  // ---------------------------------------------------------------- player
  let last = 0, carry = 0;
  function tick(now) {
    if (!view.playing) return;
    const result = model.get("_result");
    const steps = result && result.trajectories ? result.trajectories.length - 1 : 0;
    carry += last ? ((now - last) / 1000) * PLAY_SPEED : 0;
    last = now;
    const advance = Math.floor(carry);
    carry -= advance;
    if (advance > 0) setStep(view.t + advance);
    if (view.t >= steps) { pause(); return; }
    requestAnimationFrame(tick);
  }
  function setStep(t) {
    const result = model.get("_result");
    const steps = result && result.trajectories ? result.trajectories.length - 1 : 0;
    view.t = Math.max(0, Math.min(steps, Math.round(t)));
    view.followEnd = view.t === steps;
    schedule();
  }
  function play() {
    const result = model.get("_result");
    if (!result || !result.trajectories) return;
    if (view.t >= result.trajectories.length - 1) setStep(0);
    view.playing = true; last = 0; carry = 0;
    playButton.textContent = "❚❚"; playButton.setAttribute("aria-label", "pause");
    requestAnimationFrame(tick);
  }
  function pause() {
    view.playing = false;
    playButton.textContent = "▶"; playButton.setAttribute("aria-label", "play");
  }

  // ---------------------------------------------------------------- events
  playButton.addEventListener("click", () => (view.playing ? pause() : play()));
  scrub.addEventListener("input", () => { pause(); setStep(Number(scrub.value)); });
  surfaceSelect.addEventListener("change", () => { view.followEnd = true; send({ surface: surfaceSelect.value }); });
  stepsInput.addEventListener("change", () => {
    const text = stepsInput.value.trim(), v = Number(text);
    if (text === "" || !Number.isInteger(v) || v < 1 || v > limits.max_steps) {
      stepsInput.classList.add("invalid");
      showMessage(`steps must be an integer in [1, ${limits.max_steps}]; got ${text || "nothing"}`);
      setState("error");
      return;
    }
    view.followEnd = true;
    send({ steps: v });
  });
  addButton.addEventListener("click", () => {
    const current = model.get("optimizers");
    if (current.length >= limits.max_optimizers) {
      showMessage(`at most ${limits.max_optimizers} optimizers`);
      return;
    }
    const spec = info(addSelect.value);
    const hp = {};
    for (const h of spec.hyperparameters) hp[h.name] = h.default;
    send({ optimizers: [...current, { name: spec.name, hyperparameters: hp }] });
  });
  canvas.addEventListener("click", (event) => {
    if (!plot.grid) return;
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left, py = event.clientY - rect.top;
    if (!plot.inside(px, py)) return;
    const [x, y] = plot.toWorld(px, py);
    const [[x0, x1], [y0, y1]] = plot.grid.bounds;
    view.followEnd = true;
    send({ start: [roundCoord(x, x1 - x0), roundCoord(y, y1 - y0)] });
    schedule(); // the start marker moves at once; the paths follow with the kernel's answer
  });

  const SYNCED = ["_grid", "_result", "optimizers", "surface", "steps", "start"];
  for (const name of SYNCED) model.on(`change:${name}`, onChange);
  model.on("change:_computed", onComputed);
  // the canvases take the cell's width; redraw when it changes (and once the view is attached)
  const observer = new ResizeObserver(() => { plot.resize(); chart.resize(); schedule(); });
  observer.observe(canvas);
  observer.observe(chartCanvas);
  onChange();
  onComputed();

  return () => {
    pause();
    observer.disconnect();
    for (const name of SYNCED) model.off(`change:${name}`, onChange);
    model.off("change:_computed", onComputed);
  };
}

export default { render };
