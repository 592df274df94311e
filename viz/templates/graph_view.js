// The graph viewer of a notebook output (tinygrad_edu.viz.notebook). The drawing fits the
// output's real width, but its text is never drawn smaller than MIN_SCALE of its natural size:
// a graph too wide for that is shown at MIN_SCALE with its output node in view, and is zoomed
// (the buttons, or Ctrl + wheel) and panned (drag, or the scroll bars) inside the output.
// "fit" shows the whole graph in the output's width, "actual size" shows it at 100 %.
(function () {
  const DATA = /*DATA*/null;
  const MAX_ZOOM = 4;
  const box = document.currentScript.parentElement;
  const still = box.querySelector(".tge-still");  // the pictures for a notebook without scripts
  if (still) still.remove();

  const bar = document.createElement("div");
  bar.className = "tge-bar";
  bar.style.cssText = "display:none;gap:6px;align-items:center;margin:0 0 4px;" +
    "font:12px system-ui,-apple-system,sans-serif;color:#555";
  function button(action, text, title) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.title = title;
    element.dataset.action = action;
    element.style.cssText = "font:inherit;padding:1px 8px;cursor:pointer";
    bar.append(element);
    return element;
  }
  const fitButton = button("fit", "fit", "the whole graph in the output's width");
  const actualButton = button("actual", "actual size", "100 %: the size it was drawn at");
  button("out", "−", "zoom out (or Ctrl + wheel)");
  button("in", "+", "zoom in (or Ctrl + wheel)");
  const readout = document.createElement("span");
  readout.className = "tge-zoom";
  const hint = document.createElement("span");
  hint.textContent = "drag to pan, Ctrl + wheel to zoom";
  bar.append(readout, hint);

  const view = document.createElement("div");
  view.className = "tge-view";
  view.style.cssText = "overflow:auto;max-height:80vh;line-height:0;cursor:grab;" +
    "touch-action:none";
  view.innerHTML = DATA.svg;
  const svg = view.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.style.display = "block";
  svg.style.maxWidth = "none";
  box.append(bar, view);

  let scale = 1;
  let mode = "readable";  // readable, fit, actual or zoomed
  const available = () => box.clientWidth;
  const fitScale = () => Math.min(1, available() / DATA.width);

  function setScale(next, cx, cy) {
    next = Math.min(MAX_ZOOM, Math.max(Math.min(fitScale(), DATA.minScale), next));
    const x = (view.scrollLeft + cx) / scale, y = (view.scrollTop + cy) / scale;
    scale = next;
    svg.style.width = DATA.width * scale + "px";
    svg.style.height = DATA.height * scale + "px";
    view.scrollLeft = x * scale - cx;
    view.scrollTop = y * scale - cy;
    readout.textContent = Math.round(scale * 100) + " %";
    box.dataset.scale = scale;
    box.dataset.mode = mode;
    bar.style.display = DATA.width > available() ? "flex" : "none";
    fitButton.setAttribute("aria-pressed", mode === "fit");
    actualButton.setAttribute("aria-pressed", mode === "actual");
  }

  function revealOutput() {
    const node = Array.from(svg.querySelectorAll("g.node")).find(
      group => group.querySelector("title")?.textContent === DATA.output);
    if (!node) return;
    const r = node.getBoundingClientRect(), v = view.getBoundingClientRect();
    view.scrollLeft += r.left + r.width / 2 - (v.left + v.width / 2);
    view.scrollTop += r.top + r.height / 2 - (v.top + v.height / 2);
  }

  function show(which) {
    mode = which;
    const scaleFor = {fit: fitScale(), actual: 1,
                      readable: Math.max(fitScale(), DATA.minScale)};
    setScale(scaleFor[which], 0, 0);
    if (which !== "fit") revealOutput();
  }

  bar.addEventListener("click", event => {
    const action = event.target.dataset && event.target.dataset.action;
    if (action === "fit" || action === "actual") show(action);
    else if (action === "in" || action === "out") {
      mode = "zoomed";
      setScale(scale * (action === "in" ? 1.25 : 0.8), view.clientWidth / 2,
               view.clientHeight / 2);
    }
  });
  view.addEventListener("wheel", event => {
    if (!(event.ctrlKey || event.metaKey)) return;  // a plain wheel scrolls the notebook
    event.preventDefault();
    const v = view.getBoundingClientRect();
    mode = "zoomed";
    setScale(scale * Math.exp(-event.deltaY / 600), event.clientX - v.left,
             event.clientY - v.top);
  }, {passive: false});
  let drag = null;
  view.addEventListener("pointerdown", event => {
    if (event.button !== 0) return;
    drag = {x: event.clientX, y: event.clientY, left: view.scrollLeft, top: view.scrollTop};
    view.setPointerCapture(event.pointerId);
    view.style.cursor = "grabbing";
    event.preventDefault();
  });
  view.addEventListener("pointermove", event => {
    if (!drag) return;
    view.scrollLeft = drag.left - (event.clientX - drag.x);
    view.scrollTop = drag.top - (event.clientY - drag.y);
  });
  const endDrag = () => { drag = null; view.style.cursor = "grab"; };
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);

  // The output's width is known once it is on the page, and changes with the notebook's
  // layout (the file browser opened or closed): fit again then, unless the student zoomed.
  let width = 0;
  new ResizeObserver(() => {
    if (!available() || available() === width) return;
    width = available();
    if (mode === "readable" || mode === "fit") show(mode);
    else setScale(scale, 0, 0);
  }).observe(box);
})();
