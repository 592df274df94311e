// The panels of the training film (tinygrad_edu.viz.film) and of the playground
// (tinygrad_edu.viz.playground_server): components built from plain data and shown a frame at a time
// with show(frame). Each page puts its own script after this one.
"use strict";
// ------------------------------------------------------------------ numbers
function bytesOf(base64) {
  const text = atob(base64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
function floatsOf(base64) {  // little-endian float32, as numpy's "<f4" writes them
  const bytes = bytesOf(base64), view = new DataView(bytes.buffer), out = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(view.getFloat32(i, true));
  return out;
}
// The numbers as viz.dot writes them: 4 decimals, e-notation when very large or tiny.
function formatNumber(x, decimals = 4) {
  if (x === 0) return (0).toFixed(decimals);
  if (Math.abs(x) >= 1e6 || Math.abs(x) < 0.5 * 10 ** -decimals) {
    const [mantissa, exponent] = x.toExponential(Math.max(decimals - 1, 1)).split("e");
    const power = Math.abs(+exponent);
    return mantissa + "e" + (+exponent < 0 ? "-" : "+") + (power < 10 ? "0" : "") + power;
  }
  return x.toFixed(decimals);
}
function hexToRgb(colour) {
  return [1, 3, 5].map(k => parseInt(colour.slice(k, k + 2), 16));
}
function mix(rgb, strength) {  // white at 0, the colour itself at 1
  return rgb.map(c => Math.round(255 + (c - 255) * strength));
}

// A frame's packed numbers, unpacked once when first shown.
class Frames {
  constructor(frames) { this.frames = frames; this.cache = new Map(); }
  get length() { return this.frames.length; }
  get(k) {
    if (!this.cache.has(k)) {
      const f = this.frames[k];
      this.cache.set(k, {
        step: f.step, loss: f.loss, accuracy: f.accuracy, scales: f.scales,
        boundary: bytesOf(f.boundary), neurons: bytesOf(f.neurons),
        predicted: bytesOf(f.predicted), parameters: floatsOf(f.parameters),
        gradients: f.gradients === null ? null : floatsOf(f.gradients),
      });
    }
    return this.cache.get(k);
  }
}

// ------------------------------------------------------------------ the scrubber
// One position drives every panel: slider, buttons, keys, play/pause at a chosen speed.
class Scrubber {
  constructor(count, onChange) {
    this.count = count; this.onChange = onChange; this.frame = 0; this.timer = null;
    this.slider = document.getElementById("slider");
    this.slider.max = count - 1;
    this.play = document.getElementById("play");
    this.speed = document.getElementById("speed");
    this.slider.addEventListener("input", () => this.go(+this.slider.value));
    document.getElementById("prev").addEventListener("click", () => this.go(this.frame - 1));
    document.getElementById("next").addEventListener("click", () => this.go(this.frame + 1));
    this.play.addEventListener("click", () => this.toggle());
    this.speed.addEventListener("change", () => { if (this.timer) { this.stop(); this.start(); } });
    document.addEventListener("keydown", event => {
      if (event.target === this.speed) return;
      const moves = {ArrowRight: 1, ArrowLeft: -1};
      if (event.key in moves) { this.stop(); this.go(this.frame + moves[event.key]); }
      else if (event.key === "Home") { this.stop(); this.go(0); }
      else if (event.key === "End") { this.stop(); this.go(this.count - 1); }
      else if (event.key === " ") this.toggle();
      else return;
      event.preventDefault();
    });
  }
  go(frame) {
    this.frame = Math.max(0, Math.min(this.count - 1, frame));
    this.slider.value = this.frame;
    this.onChange(this.frame);
  }
  toggle() { if (this.timer) this.stop(); else this.start(); }
  start() {
    if (this.frame === this.count - 1) this.go(0);  // play again from the start
    this.play.textContent = "⏸ Pause";
    this.timer = setInterval(() => {
      if (this.frame >= this.count - 1) this.stop();
      else this.go(this.frame + 1);
    }, 1000 / +this.speed.value);
  }
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = "▶ Play";
  }
}

// ------------------------------------------------------------------ panel 1: the boundary
class BoundaryPanel {
  // spec: {extent, resolution, colours, softmax, points, labels, classNames}
  constructor(canvas, spec, onPick) {
    this.canvas = canvas; this.spec = spec; this.chosen = 0;
    this.rgb = spec.colours.map(hexToRgb);
    this.image = document.createElement("canvas");
    this.image.width = this.image.height = spec.resolution;
    canvas.addEventListener("click", event => {
      const box = canvas.getBoundingClientRect();
      const x = (event.clientX - box.left) * canvas.width / box.width;
      const y = (event.clientY - box.top) * canvas.height / box.height;
      let best = -1, bestDistance = 12 * 12;  // within 12 px of a point
      spec.points.forEach((p, i) => {
        const [px, py] = this.toPixel(p);
        const d = (px - x) ** 2 + (py - y) ** 2;
        if (d < bestDistance) { best = i; bestDistance = d; }
      });
      if (best >= 0) onPick(best);
    });
  }
  toPixel([x1, x2]) {
    const [a, b, c, d] = this.spec.extent;
    return [(x1 - a) / (b - a) * this.canvas.width, (d - x2) / (d - c) * this.canvas.height];
  }
  show(frame) {
    const n = this.spec.resolution, pixels = new ImageData(n, n), data = frame.boundary;
    for (let i = 0; i < n * n; i++) {
      let colour;
      if (this.spec.softmax) {
        const classes = this.rgb.length, p = data[2 * i + 1] / 255;
        colour = mix(this.rgb[data[2 * i] % classes], 0.8 * (p - 1 / classes) / (1 - 1 / classes));
      } else {
        const t = data[i] / 127.5 - 1;  // -1 (class 0 for sure) .. 1 (class 1 for sure)
        colour = mix(this.rgb[t < 0 ? 0 : 1], 0.8 * Math.abs(t));
      }
      pixels.data.set([...colour, 255], 4 * i);
    }
    this.image.getContext("2d").putImageData(pixels, 0, 0);
    const context = this.canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.drawImage(this.image, 0, 0, this.canvas.width, this.canvas.height);
    this.spec.points.forEach((p, i) => {
      const [x, y] = this.toPixel(p), label = this.spec.labels[i];
      context.beginPath();
      context.arc(x, y, 4, 0, 2 * Math.PI);
      context.fillStyle = this.spec.colours[label % this.spec.colours.length];
      context.fill();
      context.lineWidth = 1;
      context.strokeStyle = "#fff";
      context.stroke();
      if (frame.predicted[i] !== label) {  // misclassified at this frame: a red ring
        context.beginPath();
        context.arc(x, y, 7, 0, 2 * Math.PI);
        context.lineWidth = 2;
        context.strokeStyle = "#d0021b";
        context.stroke();
      }
    });
    const [x, y] = this.toPixel(this.spec.points[this.chosen]);
    context.beginPath();
    context.arc(x, y, 10, 0, 2 * Math.PI);
    context.lineWidth = 2.5;
    context.strokeStyle = "#111";
    context.setLineDash([4, 3]);
    context.stroke();
    context.setLineDash([]);
    let wrong = 0;
    this.spec.labels.forEach((label, i) => { wrong += frame.predicted[i] !== label; });
    this.canvas.dataset.misclassified = wrong;
  }
}

function boundaryLegend(element, spec) {
  const items = spec.classNames.slice(0, spec.colours.length).map((name, k) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = spec.colours[k];
    item.append(swatch, name);
    return item;
  });
  const ring = document.createElement("span"), mark = document.createElement("span");
  mark.className = "ring";
  ring.append(mark, "misclassified at this step");
  const shade = document.createElement("span");
  shade.textContent = "deeper colour: surer prediction; dashed ring: the example in panel 4";
  element.replaceChildren(...items, ring, shade);
}

// ------------------------------------------------------------------ panel 3: curves
class CurvesPanel {
  // spec: {losses, accuracies, stride, steps}: one entry per stride-th training step
  constructor(svg, spec) {
    this.svg = svg; this.spec = spec;
    const width = +svg.getAttribute("width"), height = +svg.getAttribute("height");
    this.box = {left: 58, right: width - 44, top: 12, bottom: height - 28};
    // No step taken (steps=0): the axis spans the one frame's loss.
    const finite = spec.losses.filter(v => isFinite(v)).concat(spec.finalLoss);
    const low = Math.min(...finite), high = Math.max(...finite);
    this.log = low > 0 && high / low > 20;  // a loss falling over decades reads better on a log axis
    this.yLow = this.log ? Math.log10(low) : Math.min(0, low);
    this.yHigh = this.log ? Math.log10(high) : high;
    if (this.yHigh === this.yLow) this.yHigh = this.yLow + 1;
    this.lastStep = Math.max(1, spec.steps);
    const ns = "http://www.w3.org/2000/svg";
    const make = (name, attributes, text) => {
      const element = document.createElementNS(ns, name);
      for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
      if (text !== undefined) element.textContent = text;
      svg.appendChild(element);
      return element;
    };
    const {left, right, top, bottom} = this.box;
    make("line", {class: "axis", x1: left, x2: right, y1: bottom, y2: bottom});
    make("line", {class: "axis", x1: left, x2: left, y1: top, y2: bottom});
    make("line", {class: "axis", x1: right, x2: right, y1: top, y2: bottom});
    make("text", {x: left, y: bottom + 16}, "step 0");
    make("text", {x: right, y: bottom + 16, "text-anchor": "end"}, "step " + spec.steps);
    make("text", {x: 4, y: top + 4, fill: "#d62728"}, "loss");
    make("text", {x: left - 4, y: top + 16, "text-anchor": "end"},
         this.log ? (10 ** this.yHigh).toPrecision(2) : this.yHigh.toPrecision(2));
    make("text", {x: left - 4, y: bottom, "text-anchor": "end"},
         this.log ? (10 ** this.yLow).toPrecision(2) : this.yLow.toPrecision(2));
    make("text", {x: right + 4, y: top + 4}, "100%");
    make("text", {x: right + 4, y: bottom}, "0%");
    make("text", {x: right - 4, y: top + 4, fill: "#2ca02c", "text-anchor": "end"}, "accuracy");
    const points = (values, y) => values.map((v, i) =>
      `${this.x(i * spec.stride).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    make("polyline", {class: "loss", points: points(spec.losses, v => this.yLoss(v))});
    make("polyline", {class: "accuracy", points: points(spec.accuracies, v => this.yAccuracy(v))});
    this.cursor = make("line", {class: "cursor", y1: top, y2: bottom});
    this.lossDot = make("circle", {r: 4, fill: "#d62728"});
    this.accuracyDot = make("circle", {r: 4, fill: "#2ca02c"});
    this.text = document.getElementById("cursor-text");
  }
  x(step) { return this.box.left + (this.box.right - this.box.left) * step / this.lastStep; }
  yLoss(v) {
    const t = ((this.log ? Math.log10(Math.max(v, 1e-300)) : v) - this.yLow) / (this.yHigh - this.yLow);
    return this.box.bottom - (this.box.bottom - this.box.top) * Math.max(0, Math.min(1, t));
  }
  yAccuracy(a) { return this.box.bottom - (this.box.bottom - this.box.top) * a; }
  show(frame) {
    const x = this.x(frame.step);
    this.cursor.setAttribute("x1", x);
    this.cursor.setAttribute("x2", x);
    this.lossDot.setAttribute("cx", x);
    this.lossDot.setAttribute("cy", this.yLoss(frame.loss));
    this.accuracyDot.setAttribute("cx", x);
    this.accuracyDot.setAttribute("cy", this.yAccuracy(frame.accuracy));
    this.cursor.dataset.step = frame.step;
    this.cursor.dataset.loss = frame.loss;
    const over = frame.gradients === null ? "over all the data, after the last step"
                                          : "on this step's batch";
    this.text.textContent = `step ${frame.step}: loss ${formatNumber(frame.loss)}, accuracy ` +
      `${(100 * frame.accuracy).toFixed(1)}% ${over}`;
  }
}

// ------------------------------------------------------------------ panel 2: the network
class NetworkPanel {
  // spec: {layers: [2, 16, 16, 1], activations, neuronResolution, parameterNames}
  constructor(container, spec, tooltip) {
    this.spec = spec; this.tooltip = tooltip; this.container = container;
    const tallest = Math.max(...spec.layers);
    this.size = tallest > 12 ? 26 : 34;  // each unit's heatmap, px
    const gap = this.size + 6, columnGap = spec.layers.length > 4 ? 110 : 130;
    const height = Math.max(tallest * gap, 3 * gap) + 30;
    const width = (spec.layers.length - 1) * columnGap + this.size + 110;
    container.style.position = "relative";
    container.style.width = width + "px";
    container.style.height = height + "px";
    const ns = "http://www.w3.org/2000/svg";
    this.svg = document.createElementNS(ns, "svg");
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    container.appendChild(this.svg);
    // Where each unit sits: a column per layer, centred vertically.
    this.units = spec.layers.map((count, layer) => Array.from({length: count}, (_, i) => ({
      x: 20 + layer * columnGap, y: 24 + (height - 24 - count * gap) / 2 + i * gap})));
    this.units.forEach((column, layer) => {
      const name = document.createElementNS(ns, "text");
      name.setAttribute("x", column[0].x);
      name.setAttribute("y", 12);
      name.setAttribute("class", "layer-name");
      name.textContent = layer === 0 ? "inputs" : layer === spec.layers.length - 1
        ? `output (${spec.activations[layer - 1]})` : `hidden ${layer} (${spec.activations[layer - 1]})`;
      this.svg.appendChild(name);
    });
    // Edges, and where each weight sits among the flat parameters: a neuron is w.0 .. w.n, b.
    this.edges = [];
    this.biases = [];
    let offset = 0;
    for (let layer = 1; layer < spec.layers.length; layer++) {
      const nin = spec.layers[layer - 1];
      this.units[layer].forEach((unit, j) => {
        for (let i = 0; i < nin; i++) {
          const from = this.units[layer - 1][i];
          const path = document.createElementNS(ns, "path");
          const x1 = from.x + this.size, y1 = from.y + this.size / 2;
          const x2 = unit.x, y2 = unit.y + this.size / 2, mid = (x1 + x2) / 2;
          path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
          path.setAttribute("class", "edge");
          path.setAttribute("fill", "none");
          path.dataset.parameter = offset + i;
          path.addEventListener("mousemove", event => this.hoverEdge(event, path));
          path.addEventListener("mouseleave", () => this.hide(path));
          this.svg.appendChild(path);
          this.edges.push({path, parameter: offset + i, layer, from: i, to: j});
        }
        this.biases.push(offset + nin);
        unit.parameters = offset;
        unit.nin = nin;
        offset += nin + 1;
      });
    }
    // The units: small canvases, each its activation over the input plane.
    const n = spec.neuronResolution;
    this.canvases = this.units.map((column, layer) => column.map((unit, i) => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = n;
      canvas.className = "unit";
      canvas.style.left = unit.x + "px";
      canvas.style.top = unit.y + "px";
      canvas.style.width = canvas.style.height = this.size + "px";
      canvas.dataset.layer = layer;
      canvas.dataset.unit = i;
      canvas.addEventListener("mousemove", event => this.hoverUnit(event, canvas, layer, i));
      canvas.addEventListener("mouseleave", () => this.hide(canvas));
      container.appendChild(canvas);
      return canvas;
    }));
    this.inputPictures = [0, 1].map(axis => this.inputPicture(axis));
    this.canvases[0].forEach((canvas, axis) =>
      canvas.getContext("2d").putImageData(this.inputPictures[axis], 0, 0));
  }
  // x1 and x2 themselves over the plane: the inputs' "heatmaps", as TensorFlow Playground shows.
  inputPicture(axis) {
    const n = this.spec.neuronResolution, pixels = new ImageData(n, n);
    for (let row = 0; row < n; row++) for (let col = 0; col < n; col++) {
      const t = axis === 0 ? 2 * col / (n - 1) - 1 : 1 - 2 * row / (n - 1);
      pixels.data.set([...this.colour(t), 255], 4 * (row * n + col));
    }
    return pixels;
  }
  colour(t) {  // -1 orange, 0 white, 1 blue
    return mix(hexToRgb(t < 0 ? "#f59322" : "#0877bd"), Math.min(1, Math.abs(t)));
  }
  show(frame) {
    this.frame = frame;
    const n = this.spec.neuronResolution, cells = n * n;
    let neuron = 0;
    for (let layer = 1; layer < this.canvases.length; layer++) {
      for (const canvas of this.canvases[layer]) {
        const pixels = new ImageData(n, n);
        for (let k = 0; k < cells; k++) {
          pixels.data.set([...this.colour(frame.neurons[neuron * cells + k] / 127.5 - 1), 255],
                          4 * k);
        }
        canvas.getContext("2d").putImageData(pixels, 0, 0);
        neuron++;
      }
    }
    let largest = 0;
    for (const edge of this.edges) largest = Math.max(largest, Math.abs(frame.parameters[edge.parameter]));
    this.largest = Math.max(largest, this.largestEver || 0);
    for (const edge of this.edges) {
      const w = frame.parameters[edge.parameter];
      edge.path.setAttribute("stroke", w < 0 ? "#f59322" : "#0877bd");
      edge.path.setAttribute("stroke-width", (0.4 + 5.6 * Math.abs(w) / this.largest).toFixed(2));
      edge.path.setAttribute("stroke-opacity", 0.35 + 0.65 * Math.abs(w) / this.largest);
    }
    if (this.hovered) this.hovered();
  }
  place(event, text) {
    const box = this.container.parentElement.getBoundingClientRect();
    this.tooltip.textContent = text;
    this.tooltip.style.display = "block";
    // Beside the pointer, on its left where the window ends on its right.
    const width = this.tooltip.offsetWidth;
    const right = event.clientX + 14 + width > document.documentElement.clientWidth;
    this.tooltip.style.left = (event.clientX - box.left + (right ? -14 - width : 14)) + "px";
    this.tooltip.style.top = (event.clientY - box.top + 14) + "px";
  }
  hide(element) {
    element.classList.remove("hover");
    this.tooltip.style.display = "none";
    this.hovered = null;
  }
  hoverEdge(event, path) {
    const k = +path.dataset.parameter, frame = this.frame;
    path.classList.add("hover");
    const gradient = frame.gradients === null ? "no step after this frame"
                                              : formatNumber(frame.gradients[k]);
    this.place(event, `${this.spec.parameterNames[k]}\nweight   ${formatNumber(frame.parameters[k])}` +
               `\ngradient ${gradient}   (∂loss/∂weight at step ${frame.step})`);
    this.hovered = () => this.hoverEdge(event, path);
  }
  hoverUnit(event, canvas, layer, i) {
    canvas.classList.add("hover");
    if (layer === 0) {
      this.place(event, `input x${i + 1}: the ${i ? "vertical" : "horizontal"} position in the plane`);
      return;
    }
    const unit = this.units[layer][i], frame = this.frame, p = frame.parameters;
    const g = this.spec.activations[layer - 1];
    // each term with its own sign: "1.33·x1 − 1.17·x2 − 1.71", never "+ -1.17"
    const signed = (value, name, first) => {
      const size = `${formatNumber(Math.abs(value))}${name}`;
      if (first) return value < 0 ? `−${size}` : size;
      return `${value < 0 ? " − " : " + "}${size}`;
    };
    const terms = [];
    for (let k = 0; k < unit.nin; k++) {
      const input = layer === 1 ? `x${k + 1}` : `a${layer - 1}.${k}`;
      terms.push(signed(p[unit.parameters + k], `·${input}`, k === 0));
    }
    const shown = terms.length > 6 ? [...terms.slice(0, 5), ` + … (${terms.length} terms)`] : terms;
    const scale = frame.scales[this.neuronIndex(layer, i)];
    this.place(event, `unit a${layer}.${i} = ${g}(w·x + b)\n= ${g}(${shown.join("")}` +
               `${signed(p[unit.parameters + unit.nin], "", false)})\n` +
               `colour: its output at each point of the plane, ±${scale.toPrecision(3)} deepest`);
    this.hovered = () => this.hoverUnit(event, canvas, layer, i);
  }
  neuronIndex(layer, i) {
    let index = 0;
    for (let l = 1; l < layer; l++) index += this.spec.layers[l];
    return index + i;
  }
}

// ------------------------------------------------------------------ panel 4: one example's graph
// The engine's primitives: each one's value and its local derivatives, side by side.
function stableSigmoid(z) {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
// e: the tape entry (e.c a folded number, on the left where e.left), v: the Value operands.
const PRIMITIVES = {
  "+": (e, v) => e.c === null ? [v[0] + v[1], [1, 1]] : [e.left ? e.c + v[0] : v[0] + e.c, [1]],
  "-": (e, v) => e.c === null ? [v[0] - v[1], [1, -1]]
    : e.left ? [e.c - v[0], [-1]] : [v[0] - e.c, [1]],
  "*": (e, v) => e.c === null ? [v[0] * v[1], [v[1], v[0]]]
    : [e.left ? e.c * v[0] : v[0] * e.c, [e.c]],
  "/": (e, v) => e.c === null ? [v[0] / v[1], [1 / v[1], -(v[0] / v[1]) / v[1]]]
    : e.left ? [e.c / v[0], [-(e.c / v[0]) / v[0]]] : [v[0] / e.c, [1 / e.c]],
  "**": (e, v) => {
    if (e.c === null) {
      const out = v[0] ** v[1];
      return [out, [v[1] * v[0] ** (v[1] - 1), out * Math.log(v[0])]];
    }
    if (e.left) { const out = e.c ** v[0]; return [out, [e.c > 0 ? out * Math.log(e.c) : 0]]; }
    return [v[0] ** e.c, [e.c !== 0 ? e.c * v[0] ** (e.c - 1) : 0]];
  },
  "neg": (e, v) => [-v[0], [-1]],
  "exp": (e, v) => { const out = Math.exp(v[0]); return [out, [out]]; },
  "log": (e, v) => [Math.log(v[0]), [1 / v[0]]],
  "tanh": (e, v) => { const t = Math.tanh(v[0]); return [t, [1 - t * t]]; },
  "sigmoid": (e, v) => { const s = stableSigmoid(v[0]); return [s, [s * (1 - s)]]; },
  "relu": (e, v) => v[0] > 0 ? [v[0], [1]] : [0, [0]],
  // sum, mean, dot: left to right, then the folded constant, as engine.sum_of adds them
  "sum": (e, v) => [sumOf(v, e.c), v.map(() => 1)],
  "mean": (e, v) => [sumOf(v, e.c) / e.count, v.map(() => 1 / e.count)],
  "dot": (e, v) => {
    const paired = 2 * e.pairs, terms = [], locals = [];
    for (let k = 0; k < paired; k += 2) terms.push(v[k] * v[k + 1]);
    for (let k = 0; k < paired; k++) locals.push(v[k ^ 1]);
    e.factors.forEach((c, j) => {
      terms.push(c === 1 ? v[paired + j] : v[paired + j] * c);
      locals.push(c);
    });
    return [sumOf(terms, e.c), locals];
  },
};
function sumOf(terms, constant) {
  let total = terms.length ? terms[0] : 0;
  for (let k = 1; k < terms.length; k++) total += terms[k];
  return constant === null || (constant === 0 && terms.length) ? total : total + constant;
}

// Forward through the tape, then backward from the last entry (the loss), as backward() does.
function runTape(tape, parameters, inputs, targets) {
  const n = tape.length, values = new Float64Array(n), locals = new Array(n);
  for (let k = 0; k < n; k++) {
    const e = tape[k];
    if ("param" in e) values[k] = parameters[e.param];
    else if ("input" in e) values[k] = inputs[e.input];
    else if ("target" in e) values[k] = targets[e.target];
    else if ("constant" in e) values[k] = e.constant;
    else {
      const rule = PRIMITIVES[e.op];
      if (!rule) throw new Error("the film does not know the operation " + e.op);
      [values[k], locals[k]] = rule(e, e.in.map(i => values[i]));
    }
  }
  const grads = new Float64Array(n);
  grads[n - 1] = 1;
  for (let k = n - 1; k >= 0; k--) {
    if (!tape[k].in) continue;
    tape[k].in.forEach((i, j) => { grads[i] += grads[k] * locals[k][j]; });
  }
  return {values, grads, locals};
}

class GraphPanel {
  // spec: {svg (gzip, base64), tape, labels, targetKind}; points and labels of the data
  constructor(container, caption, spec, points, labels, classes) {
    this.container = container; this.caption = caption; this.spec = spec;
    this.points = points; this.labels = labels; this.classes = classes;
    this.ready = this.load();
  }
  async load() {
    const stream = new Blob([bytesOf(this.spec.svg)]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    this.container.innerHTML = await new Response(stream).text();  // our own drawing
    this.svg = this.container.querySelector("svg");
    this.natural = [this.svg.width.baseVal.value, this.svg.height.baseVal.value];
    this.texts = this.mapTexts();
    for (const button of document.querySelectorAll(".zoom button")) {
      button.addEventListener("click", () => this.zoom(+button.dataset.zoom));
    }
    // A small graph fits the panel; a big one starts at full size, at the output unit's
    // w·x + b: its weights' gradients, then the loss, where ∂loss/∂z = σ(z) − y.
    const fits = this.natural[0] <= 2 * this.container.clientWidth;
    this.zoom(fits ? 0 : 1);
    const lastDot = this.spec.tape.map(e => e.op).lastIndexOf("dot");
    if (!fits) this.reveal(lastDot >= 0 ? lastDot : this.spec.tape.length - 1);
  }
  zoom(scale) {  // 0: fit the panel's width
    const [width, height] = this.natural;
    const s = scale || Math.min(1, (this.container.clientWidth - 4) / width);
    this.svg.setAttribute("width", width * s);
    this.svg.setAttribute("height", height * s);
  }
  reveal(node) {  // scroll the panel (never the page) to put a node of the drawing at its left
    const group = [...this.container.querySelectorAll("g.node")]
      .find(g => g.querySelector("title").textContent === "n" + node);
    if (!group) return;
    const box = group.getBoundingClientRect(), view = this.container.getBoundingClientRect();
    this.container.scrollLeft += box.left - view.left - 470;
    this.container.scrollTop += box.top - view.top - view.height / 2;
  }
  // Which <text> of the drawing shows which number, found from Graphviz's titles ("n3",
  // "t0", "n0->n3op", "t0:e->n7op") and the parameter tables' row names: a table's rows are
  // the parameters read by the ops its arrows go to.
  mapTexts() {
    const data = [], grads = [], locals = [];
    const tableRows = {};
    for (const group of this.container.querySelectorAll("g.edge")) {
      const [tail, head] = group.querySelector("title").textContent.split("->");
      const parts = tail.split(":");
      const consumer = +head.slice(1, -2);  // "n7op" -> 7
      if (parts[0].startsWith("t")) {
        const rows = tableRows[parts[0]] = tableRows[parts[0]] || [];
        rows.push(...this.spec.tape[consumer].in.filter(i => "param" in this.spec.tape[i]));
      } else {
        const operand = +parts[0].slice(1), text = group.querySelector("text");
        if (text) locals.push({text, operand, consumer});
      }
    }
    // An operand used twice by one op (x * x): its arrows come in the order of its uses.
    const seen = {};
    for (const entry of locals) {
      const key = entry.operand + ">" + entry.consumer;
      seen[key] = (seen[key] || 0) + 1;
      const uses = this.spec.tape[entry.consumer].in;
      let count = 0;
      entry.use = uses.findIndex(i => i === entry.operand && ++count === seen[key]);
    }
    for (const group of this.container.querySelectorAll("g.node")) {
      const title = group.querySelector("title").textContent, texts = group.querySelectorAll("text");
      if (/^n\d+$/.test(title)) {
        const k = +title.slice(1);
        data.push({text: texts[texts.length - 2], node: k});
        grads.push({text: texts[texts.length - 1], node: k});
      } else if (tableRows[title]) {
        // A table: a header of 4 cells, then name | data | grad | local grad for each row.
        for (let r = 4; r + 3 < texts.length; r += 4) {
          const name = texts[r].textContent;
          const k = tableRows[title].find(i => this.spec.labels[i] === name ||
                                              this.spec.labels[i].endsWith("." + name));
          if (k === undefined) continue;
          data.push({text: texts[r + 1], node: k, bare: true});
          grads.push({text: texts[r + 2], node: k, bare: true});
          const consumer = this.spec.tape.findIndex(e => e.in && e.in.includes(k));
          if (consumer >= 0) {
            locals.push({text: texts[r + 3], operand: k, consumer,
                         use: this.spec.tape[consumer].in.indexOf(k)});
          }
        }
      }
    }
    return {data, grads, locals};
  }
  targets(label) {
    const kind = this.spec.targetKind;
    if (kind === "ce") return Array.from({length: this.classes}, (_, c) => c === label ? 1 : 0);
    if (kind === "hinge") return [2 * label - 1];
    return [label];
  }
  async show(frame, example) {
    await this.ready;
    const point = this.points[example], label = this.labels[example];
    const run = runTape(this.spec.tape, frame.parameters, point, this.targets(label));
    for (const {text, node, bare} of this.texts.data) {
      text.textContent = (bare ? "" : "data ") + formatNumber(run.values[node]);
    }
    for (const {text, node, bare} of this.texts.grads) {
      text.textContent = (bare ? "" : "grad ") + formatNumber(run.grads[node]);
    }
    for (const {text, consumer, use} of this.texts.locals) {
      text.textContent = formatNumber(run.locals[consumer][use]);
    }
    const n = this.spec.tape.length;
    let output = "";
    if (this.spec.targetKind === "bce" && this.spec.outputIsLogit) {  // lecture §4's result
      const z = run.values[this.spec.tape.map(e => e.op).lastIndexOf("dot")];
      output = ` Its logit z = ${formatNumber(z)}, and ∂loss/∂z = σ(z) − y = ` +
        `${formatNumber(stableSigmoid(z))} − ${label} = ${formatNumber(stableSigmoid(z) - label)}` +
        ` (the loss is written max(z, 0) − z·y + log(1 + e^−|z|): the relu after z is its ` +
        `max(z, 0)).`;
    }
    this.caption.textContent = `Example ${example}: x = (${formatNumber(point[0])}, ` +
      `${formatNumber(point[1])}), class ${label}; at step ${frame.step} its loss is ` +
      `${formatNumber(run.values[n - 1])}.${output} Every grad is ∂loss/∂(that value) for this ` +
      `one example; click another point in panel 1 to follow it.`;
    this.container.dataset.example = example;
    this.container.dataset.step = frame.step;
    this.container.dataset.loss = run.values[n - 1];
  }
}

