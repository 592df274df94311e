// The playground of tinygrad_edu.viz.playground_server: the controls, and the film's panels
// (film_panels.js, before this script) fed with frames the server computes on the real engine.
// Every number and message from the server is put in the page as text, never as HTML.
const CHOICES = {{CHOICES}};
const query = new URLSearchParams(location.search);
const TOKEN = query.get("token") || "";
const NUMBER_FIELDS = ["classes", "noise", "points", "test", "dataSeed", "lr", "batch", "l2", "seed"];
const $ = id => document.getElementById(id);

// ------------------------------------------------------------------ talking to the server
function address(path, fields = {}) {
  const search = new URLSearchParams({token: TOKEN, ...fields});
  return `${path}?${search}`;
}
// A POST with a JSON body; the play loop's GET puts its few numbers in the address instead.
async function api(path, body, method = "POST") {
  let answer;
  try {
    const response = await (method === "GET"
      ? fetch(address(path, {session: state.session, ...body}))
      : fetch(address(path), {method, headers: {"Content-Type": "application/json"},
                              body: JSON.stringify({session: state.session, ...body})}));
    answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
  } catch (problem) {
    answer = {error: "the playground's server does not answer (was it stopped?): " + problem.message};
  }
  if (answer.error) {
    say(answer.error);
    throw new PlaygroundError(answer.error);
  }
  return answer;
}
class PlaygroundError extends Error {}
function say(message) { $("message").textContent = message; }

// ------------------------------------------------------------------ the setup and the URL
function setupFromHash() {
  const fields = new URLSearchParams(location.hash.slice(1)), setup = {};
  for (const [key, text] of fields) setup[key] = parseField(key, text);
  return setup;
}
function parseField(key, text) {
  if (key === "hidden") return text.trim() === "" ? [] : text.split(",").map(t => parseField("", t));
  if (key === "" || NUMBER_FIELDS.includes(key)) {
    return /^\s*-?(\d+\.?\d*|\.\d+)(e-?\d+)?\s*$/i.test(text) ? Number(text) : text;
  }
  return text;
}
function readControls() {
  const setup = {};
  for (const key of Object.keys(CHOICES.defaults)) {
    const control = $(key);
    setup[key] = parseField(key, control.value);
  }
  return setup;
}
function writeControls(setup) {
  for (const [key, value] of Object.entries(setup)) {
    const control = $(key);
    if (control) control.value = Array.isArray(value) ? value.join(",") : value;
  }
}
function writeHash(setup) {
  const fields = new URLSearchParams();
  for (const [key, value] of Object.entries(setup)) {
    fields.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  history.replaceState(null, "", location.pathname + location.search + "#" + fields);
}
function fillChoices() {
  const options = (select, values, titles = {}) => select.replaceChildren(...values.map(value => {
    const option = document.createElement("option");
    option.value = option.textContent = value;
    if (titles[value]) option.title = titles[value];
    return option;
  }));
  options($("data"), CHOICES.datasets);
  options($("activation"), CHOICES.activations);
  options($("loss"), Object.keys(CHOICES.losses), CHOICES.losses);
  options($("optimizer"), CHOICES.optimizers);
}

// ------------------------------------------------------------------ the panels
const state = {session: null, spec: null, frame: null, playing: false, busy: null,
               losses: [], accuracies: [], evaluations: [], example: 0, speed: null,
               firstLoss: null};
let boundary = null, network = null, graph = null;

function fresh(id) {  // the element again, without the listeners an earlier panel added
  const old = $(id), copy = old.cloneNode(false);
  old.replaceWith(copy);
  return copy;
}
function buildPanels(spec) {
  state.spec = spec;
  state.example = Math.min(state.example, spec.points.length - 1);
  const canvas = fresh("boundary");
  canvas.width = canvas.height = 360;
  boundary = new BoundaryPanel(canvas, spec, i => { if (mode() === "follow") pick(i); });
  canvas.addEventListener("click", clickPlane);
  boundaryLegend($("boundary-legend"), spec);
  const square = document.createElement("span"), mark = document.createElement("span");
  mark.className = "square";
  square.append(mark, "a test point (never trained on)");
  $("boundary-legend").insertBefore(square, $("boundary-legend").lastChild);
  network = new NetworkPanel(fresh("network"), spec, $("tooltip"));
  for (const button of document.querySelectorAll(".zoom button")) button.replaceWith(button.cloneNode(true));
  if (spec.graph.tape) {
    graph = new GraphPanel($("graph"), $("graph-caption"), spec.graph, spec.points, spec.labels,
                           Math.max(2, spec.classes));
  } else {
    graph = null;
    $("graph").replaceChildren();
    $("graph-caption").textContent = spec.graph.missing;
  }
  const classes = $("point-class");
  classes.replaceChildren(...spec.classNames.map((name, k) => {
    const option = document.createElement("option");
    option.value = k;
    option.textContent = name;
    return option;
  }));
}
function unpack(raw) {
  const frame = new Frames([raw]).get(0);
  frame.evaluation = raw.evaluation;
  return frame;
}
function show(raw) {
  const frame = state.frame = unpack(raw);
  boundary.chosen = state.example;
  boundary.show(frame);
  drawTestPoints(frame);
  network.show(frame);
  const [step, , , testLoss, testAccuracy] = frame.evaluation;
  $("counter").textContent = `step ${step}`;
  $("counter").dataset.step = step;
  if (frame.loss === null || state.losses.includes(null)) {
    pause();
    say("the loss is no longer a finite number: training diverged. Lower the learning rate " +
        "and reset.");
    state.shown = Promise.resolve();
    return;
  }
  drawCurves(frame);
  const percent = a => a === null ? "–" : (100 * a).toFixed(1) + "%";
  $("evaluation").textContent = state.spec.testPoints.length
    ? `test:    loss ${formatNumber(testLoss)}, accuracy ${percent(testAccuracy)} over the ` +
      `${state.spec.testPoints.length} test points` : "no test points (test share 0)";
  state.shown = graph ? graph.show(frame, state.example) : Promise.resolve();
}
function drawTestPoints(frame) {
  const context = boundary.canvas.getContext("2d"), offset = state.spec.points.length;
  state.spec.testPoints.forEach((p, i) => {
    const [x, y] = boundary.toPixel(p), label = state.spec.testLabels[i];
    context.fillStyle = state.spec.colours[label % state.spec.colours.length];
    context.fillRect(x - 4, y - 4, 8, 8);
    context.lineWidth = 1.5;
    context.strokeStyle = "#222";
    context.strokeRect(x - 4, y - 4, 8, 8);
    if (frame.predicted[offset + i] !== label) {
      context.beginPath();
      context.arc(x, y, 7.5, 0, 2 * Math.PI);
      context.lineWidth = 2;
      context.strokeStyle = "#d0021b";
      context.stroke();
    }
  });
}
// The film's curves panel, drawn again as training grows, with the test curves dashed on it.
function drawCurves(frame) {
  const svg = $("curves");
  svg.replaceChildren();
  const count = state.losses.length, stride = Math.max(1, Math.ceil(count / 1000));
  const tests = state.evaluations.filter(row => row[3] !== null);
  const losses = count ? state.losses.filter((_, i) => i % stride === 0) : [frame.evaluation[1]];
  const accuracies = count ? state.accuracies.filter((_, i) => i % stride === 0)
                           : [frame.evaluation[2]];
  // finalLoss widens the loss axis: here every test loss and the loss now are on it too.
  const curves = new CurvesPanel(svg, {losses, accuracies, stride, steps: count,
                                       finalLoss: [...tests.map(row => row[3]), frame.loss]});
  const line = (points, kind) => {
    const element = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    element.setAttribute("class", kind);
    element.setAttribute("points", points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    svg.appendChild(element);
  };
  line(tests.map(row => [curves.x(row[0]), curves.yLoss(row[3])]), "test-loss");
  line(tests.map(row => [curves.x(row[0]), curves.yAccuracy(row[4])]), "test-accuracy");
  curves.show(frame);
  $("cursor-text").textContent = `step ${frame.step}: loss ${formatNumber(frame.loss)}, ` +
    `accuracy ${(100 * frame.accuracy).toFixed(1)}% over all the training points`;
}

// ------------------------------------------------------------------ the controls
function mode() { return document.querySelector("input[name=mode]:checked").value; }
function pick(i) {
  state.example = i;
  if (state.frame) {
    boundary.chosen = i;
    boundary.show(state.frame);
    drawTestPoints(state.frame);
    state.shown = graph ? graph.show(state.frame, i) : Promise.resolve();
  }
}
// A click on the plane adds a training point of the chosen class there; shift-click (or the
// remove mode) removes the nearest point. The model keeps its weights and trains on.
async function clickPlane(event) {
  const chosen = mode();
  if (chosen === "follow" && !event.shiftKey) return;
  const canvas = boundary.canvas, box = canvas.getBoundingClientRect();
  const [a, b, c, d] = state.spec.extent;
  const x1 = a + (event.clientX - box.left) / box.width * (b - a);
  const x2 = d - (event.clientY - box.top) / box.height * (d - c);
  const action = event.shiftKey || chosen === "remove" ? "remove" : "add";
  await exclusive(async () => {
    const answer = await api("/api/point", {action, x1, x2, label: +$("point-class").value});
    say("");
    buildPanels(answer.spec);
    show(answer.frame);
  });
}
// One request at a time changes the run: a control waits for the one in flight.
async function exclusive(work) {
  while (state.busy) await state.busy.catch(() => {});
  state.busy = work();
  try { await state.busy; } catch (problem) { if (!(problem instanceof PlaygroundError)) throw problem; }
  finally { state.busy = null; }
}
async function reset(setup = readControls()) {
  pause();
  await exclusive(async () => {
    const answer = await api("/api/reset", {setup});
    say("");
    writeControls(answer.spec.setup);
    writeHash(answer.spec.setup);
    state.losses = [];
    state.accuracies = [];
    state.evaluations = [answer.frame.evaluation];
    state.firstLoss = null;
    buildPanels(answer.spec);
    show(answer.frame);
  });
}
async function train(steps, seconds) {
  const asked = performance.now();
  const answer = await api("/api/train", {steps, seconds}, "GET");
  const answered = performance.now();
  state.losses.push(...answer.losses);
  state.accuracies.push(...answer.accuracies);
  if (state.firstLoss === null && answer.losses.length) state.firstLoss = answer.losses[0];
  state.evaluations.push(answer.frame.evaluation);
  show(answer.frame);
  state.timing = {waited: answered - asked, trained: 1000 * answer.seconds,
                  drawn: performance.now() - answered};
  return answer;
}
// Steps and frames per second over the last 2 seconds of playing, shown beside the counter.
async function play() {
  if (state.playing) return;
  state.playing = true;
  $("play").textContent = "⏸ Pause";
  const recent = [[performance.now(), 0]];  // [time, steps] after each frame
  while (state.playing) {
    let answer = null;
    // A frame every ~20 ms of training: the page stays free to answer its controls meanwhile.
    await exclusive(async () => { if (state.playing) answer = await train(1000, 0.02); });
    if (!answer) { pause(); break; }
    const now = performance.now();
    recent.push([now, recent.at(-1)[1] + answer.losses.length]);
    while (recent.length > 2 && now - recent[1][0] > 2000) recent.shift();
    const seconds = (now - recent[0][0]) / 1000;
    state.speed = {steps: (recent.at(-1)[1] - recent[0][1]) / seconds,
                   frames: (recent.length - 1) / seconds};
    $("speed").textContent = `${state.speed.steps.toFixed(0)} steps/s, ` +
      `${state.speed.frames.toFixed(1)} frames/s`;
  }
}
function pause() {
  state.playing = false;
  $("play").textContent = "▶ Play";
}

async function start() {
  fillChoices();
  const setup = {...CHOICES.defaults, ...setupFromHash()};
  writeControls(setup);
  $("points").max = CHOICES.limits.points;
  try {
    state.session = query.get("session") || (await api("/api/session", {})).session;
  } catch (problem) {
    return;  // the message says why
  }
  $("export-script").href = address("/api/export.py", {session: state.session});
  $("export-weights").href = address("/api/weights.json", {session: state.session});
  $("play").addEventListener("click", () => { if (state.playing) pause(); else play(); });
  $("step").addEventListener("click", () => { pause(); exclusive(() => train(1, 0.5)); });
  $("reset").addEventListener("click", () => reset());
  $("new-seed").addEventListener("click", () => {
    $("seed").value = Math.floor(Math.random() * 2 ** 31);
    reset();
  });
  for (const key of Object.keys(CHOICES.defaults)) $(key).addEventListener("change", () => reset());
  $("csv").addEventListener("change", async () => {
    const file = $("csv").files[0];
    if (!file) return;
    if (file.size > CHOICES.limits.csvBytes) {
      say(`the CSV must be at most ${CHOICES.limits.csvBytes} bytes, got ${file.size}`);
      return;
    }
    const text = await file.text();
    pause();
    try { await api("/api/csv", {text}); } catch (problem) { return; }
    $("data").value = "csv";
    await reset();
  });
  document.addEventListener("keydown", event => {
    if (event.key === " " && !["INPUT", "SELECT"].includes(event.target.tagName)) {
      event.preventDefault();
      $("play").click();
    }
  });
  await reset(setup);
}

// What a test (or a notebook around this page) can reach.
window.playground = {state, play, pause, reset, pick, ready: start()};

// Inside a notebook's frame (same origin), make the frame as tall as the page.
if (window.frameElement) {
  new ResizeObserver(() => {
    window.frameElement.style.height = document.body.scrollHeight + 2 + "px";
  }).observe(document.body);
}
