// The talent map's hover labels and legend filter; everything else is plain HTML plus htmx.
document.addEventListener("DOMContentLoaded", () => {
  const map = document.querySelector("svg.map");
  if (!map) return;
  const tip = document.getElementById("map-tip");
  const show = (event) => {
    const point = event.target.closest("a");
    if (!point) return;
    tip.textContent = point.dataset.label;
    const box = map.parentElement.getBoundingClientRect();
    const at = event.clientX !== undefined && event.type.startsWith("mouse") ? event : point.getBoundingClientRect();
    tip.style.left = `${(at.clientX ?? at.left) - box.left + 12}px`;
    tip.style.top = `${(at.clientY ?? at.top) - box.top + 12}px`;
    tip.style.display = "block";
  };
  const hide = () => { tip.style.display = "none"; };
  map.addEventListener("mouseover", show);
  map.addEventListener("focusin", show);
  map.addEventListener("mouseout", hide);
  map.addEventListener("focusout", hide);
  document.querySelectorAll(".legend button").forEach((button) => {
    button.addEventListener("click", () => {
      const on = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(on));
      map.querySelectorAll(`a[data-group="${button.dataset.group}"]`).forEach((a) => {
        a.style.display = on ? "" : "none";
      });
    });
  });
});
