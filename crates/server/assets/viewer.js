// Custody web UI: zoom for the view-only viewer. Without this script the
// pages already fit the column (CSS); with it, the toolbar's buttons and the
// keys + (or =), - and 0 zoom in, zoom out and fit the width again. Zoom is a
// share of the fitted width, so at 100 % no page is wider than the column
// and nothing is clipped; above it the pages scroll sideways in their own box.
"use strict";

const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4];

function setupViewer(pages, tools) {
  const level = document.getElementById("zoom-level");
  const zoomIn = document.getElementById("zoom-in");
  const zoomOut = document.getElementById("zoom-out");
  const fit = document.getElementById("zoom-fit");
  let index = ZOOMS.indexOf(1);

  function apply() {
    const zoom = ZOOMS[index];
    pages.dataset.zoom = String(zoom);
    pages.classList.toggle("zoomed", zoom !== 1);
    // The box's own width, without its scroll bar: what "fit" means.
    const width = pages.clientWidth;
    for (const img of pages.querySelectorAll("img.page")) {
      // A page narrower than the box is fitted at its own size.
      const own = Number(img.getAttribute("width")) || width;
      img.style.width = zoom === 1 ? "" : Math.round(Math.min(own, width) * zoom) + "px";
    }
    const percent = Math.round(zoom * 100) + " %";
    level.textContent = zoom === 1 ? "Fit width (100 %)" : percent + " of the width";
    zoomIn.disabled = index === ZOOMS.length - 1;
    zoomOut.disabled = index === 0;
    fit.setAttribute("aria-pressed", zoom === 1 ? "true" : "false");
  }

  function step(by) {
    const next = Math.min(ZOOMS.length - 1, Math.max(0, index + by));
    if (next !== index) {
      index = next;
      apply();
    }
  }

  zoomIn.addEventListener("click", () => step(1));
  zoomOut.addEventListener("click", () => step(-1));
  fit.addEventListener("click", () => {
    index = ZOOMS.indexOf(1);
    apply();
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return; // the browser's own zoom and shortcuts
    }
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
      return;
    }
    if (event.key === "+" || event.key === "=") {
      step(1);
    } else if (event.key === "-" || event.key === "_") {
      step(-1);
    } else if (event.key === "0") {
      index = ZOOMS.indexOf(1);
      apply();
    } else {
      return;
    }
    event.preventDefault();
  });
  // A page that cannot load (the view ended, access was withdrawn) says so.
  const status = document.getElementById("viewer-status");
  for (const img of pages.querySelectorAll("img.page")) {
    img.addEventListener("error", () => {
      status.textContent = img.alt + " could not be shown: this view may have ended or your " +
        "access changed. Reload the page to open the file again.";
      status.hidden = false;
    });
  }
  // A zoomed page keeps its share of the width when the window changes.
  window.addEventListener("resize", apply);
  tools.hidden = false;
  apply();
}

document.addEventListener("DOMContentLoaded", () => {
  const pages = document.getElementById("pages");
  const tools = document.getElementById("viewer-tools");
  if (pages && tools) {
    setupViewer(pages, tools);
  }
});
