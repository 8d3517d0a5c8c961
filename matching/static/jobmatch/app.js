// The talent map's hover labels and legend filter (delegated: the map may arrive later, swapped in by htmx).
const mapPoint = (event) => event.target.closest && event.target.closest("svg.map a");

function showTip(event) {
  const point = mapPoint(event);
  const tip = document.getElementById("map-tip");
  if (!point || !tip) return;
  const box = point.closest(".map-wrap").getBoundingClientRect();
  const at = event.type === "mouseover" ? { x: event.clientX, y: event.clientY } : point.getBoundingClientRect();
  tip.textContent = point.dataset.label;
  tip.style.left = `${(at.x ?? at.left) - box.left + 12}px`;
  tip.style.top = `${(at.y ?? at.top) - box.top + 12}px`;
  tip.style.display = "block";
}

function hideTip(event) {
  const tip = document.getElementById("map-tip");
  if (tip && mapPoint(event)) tip.style.display = "none";
}

document.addEventListener("mouseover", showTip);
document.addEventListener("focusin", showTip);
document.addEventListener("mouseout", hideTip);
document.addEventListener("focusout", hideTip);
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest(".legend button");
  if (!button) return;
  const on = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(on));
  document.querySelectorAll(`svg.map a[data-group="${button.dataset.group}"]`).forEach((a) => {
    a.style.display = on ? "" : "none";
  });
});

// A box with data-limit says how much is left as you type; the server refuses past it, nothing is cut.
document.addEventListener("input", (event) => {
  const box = event.target;
  const limit = box.dataset && Number(box.dataset.limit);
  const count = limit && document.getElementById(`${box.name}-count`);
  if (!count) return;
  const n = box.value.length;
  count.textContent = n > limit ? `${n.toLocaleString("en")} characters: ${(n - limit).toLocaleString("en")} over the limit of ${limit.toLocaleString("en")}` : `${n.toLocaleString("en")} of ${limit.toLocaleString("en")} characters`;
  count.classList.toggle("errorlist", n > limit);
});

// The talent map by keyboard: one tab stop per occupation group, arrow keys to the next or previous dot of that group.
document.addEventListener("keydown", (event) => {
  const point = mapPoint(event);
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  if (!point || !step) return;
  const group = [...point.closest("svg").querySelectorAll(`a[data-group="${point.dataset.group}"]`)].filter(
    (a) => a.style.display !== "none",
  );
  const next = group[(group.indexOf(point) + step + group.length) % group.length];
  event.preventDefault();
  point.setAttribute("tabindex", "-1");
  next.setAttribute("tabindex", "0");
  next.focus();
});

// Highlight a title on the talent map: matching dots stand out, the rest fade; the count is announced.
document.addEventListener("input", (event) => {
  if (event.target.id !== "map-find") return;
  const words = event.target.value.trim().toLowerCase();
  const dots = [...document.querySelectorAll("svg.map a")];
  let found = 0;
  dots.forEach((a) => {
    const hit = words !== "" && a.dataset.label.toLowerCase().includes(words);
    found += hit ? 1 : 0;
    a.classList.toggle("found", hit);
    a.classList.toggle("faded", words !== "" && !hit);
  });
  document.getElementById("map-found").textContent = words ? `${found} of ${dots.length} dots match “${words}”` : "";
});

// Select a region of the talent map and list its rows. With the mouse (or a pen), drag a rectangle over the map;
// from the keyboard (or on a phone), pick a group and/or type a title, then "List these rows". The list shows the
// dots that are shown (legend), match the title (if one is typed), are of the picked group and inside the region.
const MAX_LISTED = 300;
const SVG_NS = "http://www.w3.org/2000/svg";
let drag = null;

const mapDots = () => [...document.querySelectorAll("svg.map a")];
const atSvg = (svg, event) => new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());

function shownDots() {
  const svg = document.querySelector("svg.map");
  const words = (document.getElementById("map-find") || {}).value?.trim() || "";
  const group = (document.getElementById("map-group") || {}).value || "";
  const region = svg && svg.querySelector("rect.map-box");
  return mapDots().filter((a) => a.style.display !== "none" && (!words || a.classList.contains("found"))
    && (!group || a.dataset.group === group) && (!region || a.classList.contains("picked")));
}

function listRows({ focus = true } = {}) {
  const section = document.getElementById("map-rows");
  if (!section) return;
  const dots = shownDots();
  const region = document.querySelector("svg.map rect.map-box");
  const list = section.querySelector("ol");
  list.replaceChildren(...dots.slice(0, MAX_LISTED).map((a) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = a.getAttribute("href");
    link.textContent = a.getAttribute("aria-label");
    const about = document.createElement("span");
    about.className = "muted";
    about.textContent = ` ${a.dataset.externalId} · ${a.dataset.occupation}`;
    item.append(link, about);
    return item;
  }));
  const more = document.getElementById("map-rows-more");
  more.hidden = dots.length <= MAX_LISTED;
  more.textContent = `The first ${MAX_LISTED} are listed: select a smaller region to see the rest.`;
  const n = dots.length;
  section.querySelector("h2").textContent = `${n} row${n === 1 ? "" : "s"}${region ? " in the selected region" : " shown"}`;
  section.hidden = false;
  document.getElementById("map-clear").hidden = false;
  if (focus) section.querySelector("h2").focus();
}

function clearSelection() {
  document.querySelectorAll("svg.map rect.map-box").forEach((box) => box.remove());
  mapDots().forEach((a) => a.classList.remove("picked"));
  document.querySelector("svg.map")?.classList.remove("picking");
  const group = document.getElementById("map-group");
  if (group) group.value = "";
  mapDots().forEach((a) => a.classList.remove("off-group"));
  document.getElementById("map-rows").hidden = true;
  document.getElementById("map-clear").hidden = true;
}

document.addEventListener("click", (event) => {
  if (event.target.id === "map-list") listRows();
  if (event.target.id === "map-clear") {
    clearSelection();
    document.getElementById("map-list").focus();
  }
});

document.addEventListener("change", (event) => {
  if (event.target.id !== "map-group") return;
  const group = event.target.value;
  mapDots().forEach((a) => a.classList.toggle("off-group", group !== "" && a.dataset.group !== group));
});

document.addEventListener("dragstart", (event) => {
  if (event.target.closest && event.target.closest("svg.map")) event.preventDefault(); // a dot is not dragged away
});

document.addEventListener("pointerdown", (event) => {
  const svg = event.target.closest && event.target.closest("svg.map");
  if (!svg || event.button !== 0 || event.pointerType === "touch") return; // touch scrolls; it uses the buttons
  drag = { svg, start: atSvg(svg, event), x: event.clientX, y: event.clientY, moved: false };
});

document.addEventListener("pointermove", (event) => {
  if (!drag) return;
  if (!drag.moved && Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < 6) return; // a click, not a drag
  drag.moved = true;
  event.preventDefault();
  let box = drag.svg.querySelector("rect.map-box");
  if (!box) {
    box = document.createElementNS(SVG_NS, "rect");
    box.setAttribute("class", "map-box");
    drag.svg.appendChild(box);
  }
  const at = atSvg(drag.svg, event);
  box.setAttribute("x", Math.min(at.x, drag.start.x));
  box.setAttribute("y", Math.min(at.y, drag.start.y));
  box.setAttribute("width", Math.abs(at.x - drag.start.x));
  box.setAttribute("height", Math.abs(at.y - drag.start.y));
});

document.addEventListener("pointerup", () => {
  const done = drag;
  drag = null;
  if (!done || !done.moved) return;
  // The click that ends a drag on a dot would open it: swallow that one click only.
  const swallow = (event) => { event.preventDefault(); event.stopPropagation(); };
  window.addEventListener("click", swallow, { capture: true, once: true });
  setTimeout(() => window.removeEventListener("click", swallow, { capture: true }), 0);
  const box = done.svg.querySelector("rect.map-box");
  const [x, y] = [Number(box.getAttribute("x")), Number(box.getAttribute("y"))];
  const [w, h] = [Number(box.getAttribute("width")), Number(box.getAttribute("height"))];
  mapDots().forEach((a) => {
    const dot = a.querySelector("circle");
    const [cx, cy] = [Number(dot.getAttribute("cx")), Number(dot.getAttribute("cy"))];
    a.classList.toggle("picked", cx >= x && cx <= x + w && cy >= y && cy <= y + h);
  });
  done.svg.classList.add("picking");
  listRows({ focus: false });
});
