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
