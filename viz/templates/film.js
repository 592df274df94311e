// The training film of tinygrad_edu.viz.film: DATA is filled in by Python. The panels are in
// film_panels.js, which comes first in the page's script (the playground feeds them too).
const DATA = {{DATA}};

// ------------------------------------------------------------------ the page
const frames = new Frames(DATA.frames);
const notes = document.getElementById("notes");
notes.replaceChildren(...DATA.notes.map(note => {
  const item = document.createElement("li");
  item.textContent = note;
  return item;
}));
let example = DATA.example;
const boundary = new BoundaryPanel(document.getElementById("boundary"), DATA, pick);
boundaryLegend(document.getElementById("boundary-legend"), DATA);
const network = new NetworkPanel(document.getElementById("network"), DATA,
                                 document.getElementById("tooltip"));
const curves = new CurvesPanel(document.getElementById("curves"), DATA.curve);
const graph = DATA.graph.tape ? new GraphPanel(
  document.getElementById("graph"), document.getElementById("graph-caption"), DATA.graph,
  DATA.points, DATA.labels, Math.max(2, DATA.classNames.length)) : null;
if (!graph) {
  document.getElementById("graph-caption").textContent = DATA.graph.missing;
}

function show(k) {
  const frame = frames.get(k);
  boundary.chosen = example;
  boundary.show(frame);
  network.show(frame);
  curves.show(frame);
  document.getElementById("counter").textContent =
    `frame ${k + 1} of ${frames.length} · step ${frame.step} of ${DATA.curve.steps}` +
    (frame.gradients === null ? " (trained)" : "");
  window.film.frame = k;
  window.film.shown = graph ? graph.show(frame, example) : Promise.resolve();
}
function pick(i) {
  example = i;
  show(scrubber.frame);
}
// What a test (or a page around this one) can reach: the position, and each panel.
window.film = {frame: 0, shown: null, go: k => scrubber.go(k), pick, boundary, network, curves,
               graph, points: DATA.points};
const scrubber = new Scrubber(frames.length, show);
scrubber.go(0);

// Inside a notebook's frame (same origin), make the frame as tall as the page.
if (window.frameElement) {
  const fitFrame = () => {
    window.frameElement.style.height = document.body.scrollHeight + 2 + "px";
  };
  new ResizeObserver(fitFrame).observe(document.body);
}
