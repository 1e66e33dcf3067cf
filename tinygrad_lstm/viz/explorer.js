// The backward-pass explorer: steps a recorded sweep VJP by VJP over the belt picture.
// Data comes from tinygrad_lstm/viz/explore.py (its _pane docstring describes it); no network, no library.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const total = Math.max(...data.panes.map((p) => p.n));
  const slider = document.getElementById("slider");
  const follow = document.getElementById("follow");
  let pos = 0; // VJPs run so far, on the longest sweep
  let timer = null;

  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const fmt = (x) => (x === null || x === undefined ? "-" : typeof x === "string" ? x : x === 0 ? "0" : x.toExponential(2));
  const short = (x) => (typeof x === "number" && x !== 0 ? x.toExponential(1) : fmt(x));
  const byId = (root, id) => root.querySelector(`[id="${CSS.escape(id)}"]`);

  document.getElementById("title").textContent = data.title;
  slider.max = String(total);

  // ---- a view that pans and zooms: the belt, and the opened step ------------------------------
  // The scroller holds the SVG drawn at zoom z (1 = the picture's natural size); the scroll bars, a drag
  // and the wheel move it; the buttons and + / - / 0 zoom the view the mouse was last over.
  const READABLE_PX = 10; // the smallest text a view's default zoom draws, in CSS pixels
  let activeView = null;

  function makeView(root, onChange, toolsBefore) {
    // the tools float over the picture's top right corner, or sit in a heading (before toolsBefore)
    const anchor = toolsBefore || root.firstElementChild;
    anchor.insertAdjacentHTML(
      "beforebegin",
      '<div class="view-tools"><button data-zoom="out" title="zoom out (-)">&minus;</button>' +
        '<button data-zoom="in" title="zoom in (+)">+</button>' +
        '<button data-zoom="fit" title="fit the picture to its pane (0)">fit</button></div>'
    );
    const view = { root, scroller: root.querySelector(".scroller"), svg: null, z: 1, user: false, onChange };
    const { scroller } = view;
    const tools = anchor.previousElementSibling;
    tools.querySelectorAll("button").forEach((button) =>
      button.addEventListener("click", (ev) => {
        ev.stopPropagation();
        activate(view);
        zoomKey(view, button.dataset.zoom);
      })
    );
    root.addEventListener("mouseenter", () => activate(view));
    scroller.addEventListener("scroll", () => onChange && onChange());
    scroller.addEventListener(
      "wheel",
      (ev) => {
        if (!view.svg) return;
        ev.preventDefault(); // the page itself does not scroll under a view
        if (ev.deltaX && !ev.deltaY) {
          scroller.scrollLeft += ev.deltaX; // a sideways swipe pans
          return;
        }
        const step = ev.deltaY * (ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1);
        view.user = true;
        zoomAt(view, view.z * Math.exp(-step * 0.0015), ev.clientX, ev.clientY);
      },
      { passive: false }
    );
    // a drag pans; a click that was not a drag still opens a step
    let drag = null;
    scroller.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, left: scroller.scrollLeft, top: scroller.scrollTop, moved: false, id: ev.pointerId };
    });
    scroller.addEventListener("pointermove", (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
      if (!drag.moved) {
        drag.moved = true;
        scroller.classList.add("dragging");
        scroller.setPointerCapture(ev.pointerId);
      }
      scroller.scrollLeft = drag.left - dx;
      scroller.scrollTop = drag.top - dy;
    });
    const release = () => {
      if (drag && drag.moved) {
        scroller.classList.remove("dragging");
        // the click that ends a drag opens nothing
        const swallow = (e) => e.stopPropagation();
        scroller.addEventListener("click", swallow, { capture: true });
        setTimeout(() => scroller.removeEventListener("click", swallow, { capture: true }), 0);
      }
      drag = null;
    };
    scroller.addEventListener("pointerup", release);
    scroller.addEventListener("pointercancel", release);
    return view;
  }

  function activate(view) {
    if (activeView === view) return;
    if (activeView) activeView.root.classList.remove("active");
    activeView = view;
    view.root.classList.add("active");
  }

  function setSvg(view, svg) {
    // a new picture in the view: its natural size, and the zoom its smallest text stays readable at
    view.svg = svg;
    if (!svg) return;
    const w = svg.width.baseVal.value;
    const h = svg.height.baseVal.value;
    const box = svg.viewBox.baseVal;
    view.natural = [w, h];
    const sizes = [...svg.querySelectorAll("text[font-size]")]
      .filter((t) => t.textContent.trim()) // a blank line spaces lines; it is not text to read
      .map((t) => parseFloat(t.getAttribute("font-size")));
    const smallest = Math.min(...sizes.filter((x) => x > 0), 14) * (box && box.width ? w / box.width : 1);
    view.readable = READABLE_PX / smallest;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    if (!view.user) view.z = defaultZoom(view);
    applyZoom(view);
  }

  function fitZoom(view, widthOnly) {
    const [w, h] = view.natural;
    const fw = (view.scroller.clientWidth - 2) / w;
    const fh = (view.scroller.clientHeight - 2) / h;
    return widthOnly ? fw : Math.min(fw, fh);
  }

  function fillZoom(view) {
    // "fit": the whole picture; for the belt (widthFirst) only while its text stays readable, else the pane's
    // width at a readable size (the belt scrolls down): a belt shrunk to a thumbnail says nothing
    const whole = fitZoom(view);
    if (!view.widthFirst || whole >= view.readable) return whole;
    return Math.max(view.readable, Math.min(1, fitZoom(view, true)));
  }

  function defaultZoom(view) {
    // as large as fits the pane (the belt: its width), no larger than natural, and never unreadable
    const fit = fitZoom(view, view.widthFirst);
    return Math.max(view.readable, Math.min(1, fit));
  }

  function applyZoom(view) {
    const [w, h] = view.natural;
    view.svg.style.width = `${w * view.z}px`;
    view.svg.style.height = `${h * view.z}px`;
    if (view.onChange) view.onChange();
  }

  function zoomAt(view, z, clientX, clientY) {
    // zoom about a point on screen: the picture under it stays under it
    const { scroller } = view;
    const lo = Math.min(0.1, fitZoom(view) * 0.9);
    z = Math.max(lo, Math.min(4, z));
    const r = scroller.getBoundingClientRect();
    const ox = clientX === undefined ? scroller.clientWidth / 2 : clientX - r.left - scroller.clientLeft;
    const oy = clientY === undefined ? scroller.clientHeight / 2 : clientY - r.top - scroller.clientTop;
    const px = (scroller.scrollLeft + ox) / view.z;
    const py = (scroller.scrollTop + oy) / view.z;
    view.z = z;
    applyZoom(view);
    scroller.scrollLeft = px * z - ox;
    scroller.scrollTop = py * z - oy;
    if (view.onChange) view.onChange();
  }

  function zoomKey(view, what) {
    if (!view || !view.svg) return;
    view.user = true;
    if (what === "fit") {
      view.z = fillZoom(view);
      applyZoom(view);
      view.scroller.scrollLeft = 0;
      view.scroller.scrollTop = 0;
      if (view.afterFit) view.afterFit(); // the belt: back to the sweep's lit step
      if (view.onChange) view.onChange();
    } else zoomAt(view, view.z * (what === "in" ? 1.25 : 0.8));
  }

  // ---- one pane per recording ---------------------------------------------------------------
  function makePane(p, index) {
    const el = document.createElement("section");
    el.className = "pane";
    el.innerHTML =
      // the belt's zoom tools sit in the heading, off the picture (over it they would cover its t= labels)
      `<div class="pane-head">${p.label ? `<h2>${esc(p.label)}</h2>` : ""}<span class="tools-here"></span></div>` +
      `<div class="status"></div><div class="view belt-view"><div class="scroller belt">${p.svg}</div></div>` +
      `<div class="strip-holder"><table class="strip"></table></div>` +
      `<div class="memory-holder"></div>` +
      `<div class="cell-view" hidden><div class="cell-head"><span class="cell-title"></span>` +
      `<button class="close" title="close this step">close</button></div>` +
      `<div class="view"><div class="scroller cell-svg"></div></div></div>`;
    document.getElementById("panes").appendChild(el);
    const pane = { p, index, el, k: 0, step: null, open: null, cellMap: null, hoverCol: null };
    pane.status = el.querySelector(".status");
    pane.belt = el.querySelector(".belt svg");
    pane.cellView = el.querySelector(".cell-view");
    pane.pins = findPins(pane.belt);
    stripTooltips(pane.belt);
    // every element the sweep colours, with the VJP after which its gradient is known
    pane.tracked = Object.entries(p.arrive)
      .map(([id, order]) => [byId(pane.belt, id), order])
      .filter(([node]) => node);
    for (const [id, entry] of Object.entries(p.shows)) {
      const node = byId(pane.belt, id);
      if (!node) continue;
      node.classList.add("clickable");
      node.addEventListener("mouseenter", () => showEntry(pane, entry));
      node.addEventListener("click", () => {
        const step = p.entries[entry].step;
        if (step) {
          follow.checked = false;
          openStep(pane, `${step[0]}|${step[1]}`);
        }
        showEntry(pane, entry, true);
      });
    }
    pane.graph = pane.belt.querySelector("g.graph") || pane.belt;
    pane.beltHolder = el.querySelector(".belt");
    pane.stripHolder = el.querySelector(".strip-holder");
    pane.beltView = makeView(el.querySelector(".belt-view"), () => pin(pane), el.querySelector(".tools-here"));
    pane.beltView.widthFirst = true; // the belt fills its pane's width and scrolls down to the lit line
    pane.beltView.afterFit = () => {
      const lit = pane.graph.querySelector("rect.band-now");
      if (lit) scrollInto(pane.beltHolder, lit.getBoundingClientRect());
    };
    pane.cellViewer = makeView(pane.cellView.querySelector(".view"), null, pane.cellView.querySelector(".close"));
    pane.colOf = new Map(); // t -> column
    p.columns.forEach((ts, j) => ts.forEach((t) => pane.colOf.set(t, j)));
    // the time steps in the order the sweep enters them; lastSeg[k]: the one the k-th VJP ran in (or the
    // last one entered before it: the weights' VJPs between and after steps belong to no step)
    // (a layer's input projection, "lstm.l0.x_proj[t=8]", belongs to the layer's row: "lstm.l0")
    const rows = [...new Set(p.strip.map((row) => row.layer))];
    const rowOf = (layer) => (rows.includes(layer) ? layer : rows.find((r) => layer.startsWith(`${r}.`)) || layer);
    pane.segs = [];
    pane.lastSeg = new Int32Array(p.n + 1).fill(-1);
    p.sweep.forEach((v, i) => {
      const own = p.entries[v[0]].step;
      const s = own ? [rowOf(own[0]), own[1]] : null;
      const key = s ? `${s[0]}|${s[1]}` : null;
      const last = pane.segs[pane.segs.length - 1];
      if (key && (!last || last.key !== key)) pane.segs.push({ key, step: s, k: i + 1 });
      pane.lastSeg[i + 1] = pane.segs.length - 1;
    });
    buildStrip(pane);
    buildMemory(pane);
    el.querySelector(".close").addEventListener("click", () => {
      follow.checked = false;
      closeStep(pane);
    });
    return pane;
  }

  // ---- row names and weight titles stay in view while the belt scrolls ---------------------------
  function findPins(svg) {
    // the belt's nodes are named (in their <title>) "<layer>_h_name<j>" for a row's name and
    // "p<k>_w<j>_title" for a shared weight's heading
    const rows = [];
    const titles = [];
    const from = new Map(); // a row's name -> the box it starts from on that line ("h init", "t=11")
    svg.querySelectorAll("g.node").forEach((node) => {
      const t = node.querySelector(":scope > title");
      const name = t ? t.textContent : "";
      if (/_(h|c)_name\d+$/.test(name)) rows.push(node);
      else if (/^p\d+_w\d+_title$/.test(name)) titles.push(node);
      else if (/_(h|c)_from\d+$/.test(name)) from.set(name.replace(/_from(\d+)$/, "_name$1"), node);
    });
    const pins = { rows: [], lines: new Map() };
    const backed = (node, band) => {
      // a row name moved to the edge sits on an opaque band as tall as the row's boxes (the column of
      // names frozen, as a spreadsheet's): what scrolls under it is hidden, never overlapped by the name
      const box = node.getBBox();
      const half = band ? Math.max(box.height / 2 + 1, band / 2) : box.height / 2 + 1;
      const back = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      back.setAttribute("class", band ? "pin-back row" : "pin-back");
      back.setAttribute("x", box.x - 3);
      back.setAttribute("y", box.y + box.height / 2 - half);
      back.setAttribute("height", 2 * half);
      back.setAttribute("width", box.width + 6);
      back.style.display = "none";
      node.insertBefore(back, node.firstChild);
      node.classList.add("pinned");
      node.parentNode.appendChild(node); // drawn last: over the boxes it may be pinned above
      return { node, back, x: box.x, w: box.width };
    };
    // the height of a row's boxes (its h and c boxes are named "<layer>_h<j>", "<layer>_c<j>")
    const band = Math.max(0, ...[...svg.querySelectorAll("g.node")].filter((node) => {
      const t = node.querySelector(":scope > title");
      return t && /_(h|c)\d+$/.test(t.textContent);
    }).map((node) => node.getBBox().height));
    for (const node of rows) {
      const pin = backed(node, band + 8);
      const start = from.get(node.querySelector(":scope > title").textContent);
      if (start) {
        const b = start.getBBox();
        pin.from = [b.x, b.x + b.width]; // covered whole or not at all: never a box cut in half
      }
      pins.rows.push(pin);
    }
    for (const node of titles) {
      const text = node.querySelector("text");
      if (!text) continue;
      const pin = backed(node);
      pin.text = text;
      pin.full = text.textContent;
      pin.short = pin.full.split(" (")[0]; // the weight's name alone, when there is no room for the rest
      text.textContent = pin.short;
      pin.sw = text.getBBox().width;
      text.textContent = pin.full;
      pin.fw = pin.w;
      const y = Math.round(node.getBBox().y);
      if (!pins.lines.has(y)) pins.lines.set(y, []);
      pins.lines.get(y).push(pin);
    }
    for (const line of pins.lines.values()) line.sort((a, b) => a.x - b.x);
    return pins;
  }

  function pin(pane) {
    if (!pane.pins) return;
    const { scroller } = pane.beltView;
    const ctm = pane.graph.getScreenCTM();
    if (!ctm || !ctm.a) return;
    const r = scroller.getBoundingClientRect();
    const x0 = r.left + scroller.clientLeft;
    const left = (x0 - ctm.e) / ctm.a; // the scroller's visible width, in the picture's units
    const right = (x0 + scroller.clientWidth - ctm.e) / ctm.a;
    const pad = 4 / ctm.a;
    const gap = 14 / ctm.a;
    const place = (item, at, short) => {
      const dx = at - item.x;
      item.node.setAttribute("transform", dx ? `translate(${dx.toFixed(2)},0)` : "");
      item.back.style.display = dx ? "" : "none";
      if (item.text) {
        item.text.textContent = short ? item.short : item.full;
        item.back.setAttribute("width", (short ? item.sw : item.fw) + 6);
      }
    };
    for (const item of pane.pins.rows) {
      const at = Math.max(item.x, left + pad);
      place(item, at, false);
      if (item.from) {
        // the band reaches over the row's starting box when it would cover part of it
        const [x0, x1] = item.from;
        const edge = at + item.w + 3; // the band spans at - 3 .. edge, in the picture's units
        const reach = x0 < edge && x1 > at - 3 ? Math.max(edge, x1 + 3) : edge;
        item.back.setAttribute("width", reach - (at - 3));
      }
    }
    for (const line of pane.pins.lines.values()) {
      // left to right, each title at its place or pushed right of the edge and the title before it;
      // then right to left, pulled back inside the right edge; a title moved shows the weight's name alone
      let cursor = left + pad;
      for (const it of line) {
        it.p = Math.max(it.x, cursor);
        it.cut = it.p > it.x + 0.5;
        cursor = it.p + (it.cut ? it.sw : it.fw) + gap;
      }
      let limit = right - pad;
      for (let i = line.length - 1; i >= 0; i--) {
        const it = line[i];
        if (it.p + (it.cut ? it.sw : it.fw) > limit) {
          it.cut = true;
          it.p = Math.max(left + pad, Math.min(it.p, limit - it.sw));
        }
        limit = it.p - gap;
      }
      for (const it of line) place(it, it.p, it.cut);
    }
  }

  function stripTooltips(svg) {
    // the page shows details in its own panel: the SVG's native tooltips would cover the picture
    svg.querySelectorAll("title").forEach((t) => t.remove());
    svg.querySelectorAll("a").forEach((a) => {
      a.removeAttributeNS("http://www.w3.org/1999/xlink", "title");
      a.removeAttribute("title");
    });
  }

  function buildStrip(pane) {
    const { p } = pane;
    const table = pane.el.querySelector(".strip");
    let head = "<tr><th class='row'>||dL/d state||</th>";
    p.columns.forEach((ts, j) => {
      head += `<th data-col="${j}">t=${ts[0]}${ts.length > 1 ? ".." + ts[ts.length - 1] : ""}</th>`;
    });
    let body = "";
    for (const row of p.strip) {
      body += `<tr><th class='row'>${esc(row.layer)} ${row.kind}</th>`;
      p.columns.forEach((_, j) => {
        const c = row.cells[j];
        body += c
          ? `<td data-col="${j}" data-id="${esc(c[0])}" style="background:${c[2]};color:${c[3]}">${short(c[1])}</td>`
          : `<td data-col="${j}"></td>`;
      });
      body += '<td class="spare"></td></tr>';
    }
    // a spare column at the end: room to scroll the last columns clear of the pinned row names
    table.innerHTML = head + '<th class="spare"></th></tr>' + body;
    pane.stripCells = [...table.querySelectorAll("td[data-id]")].map((td) => [td, p.arrive[td.dataset.id]]);
    table.querySelectorAll("[data-col]").forEach((cell) => {
      const j = Number(cell.dataset.col);
      cell.addEventListener("mouseenter", () => hoverColumn(pane, j));
      cell.addEventListener("mouseleave", () => hoverColumn(pane, null));
    });
  }

  // ---- the memory strip: bytes of saved arrays still held at each sweep position ------------------
  // Data: p.memory (explore.py's _memory), read during the real backward pass. One scale for every pane,
  // so a checkpointed recording beside a plain one is drawn to the same height per byte.
  const MEM = { height: 74, left: 74, right: 10, top: 16, bottom: 16 };
  const memoryTop = Math.max(1, ...data.panes.map((p) => (p.memory ? Math.max(...p.memory.held) : 0)));
  const SVGNS = "http://www.w3.org/2000/svg";

  function bytes(b) {
    // binary units, as memory is counted: 512 B, 37.5 KiB, 1.25 MiB
    if (b < 1024) return `${b} B`;
    const [v, unit] = b < 1048576 ? [b / 1024, "KiB"] : [b / 1048576, "MiB"];
    return `${+(v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))} ${unit}`;
  }

  function memoryTicks(top, count) {
    // about `count` round values in the unit the top is best read in (B, KiB, MiB): 0, 10 KiB, 20 KiB, ...
    const unit = top < 1024 ? 1 : top < 1048576 ? 1024 : 1048576;
    const span = top / unit;
    const raw = span / Math.max(1, count - 1);
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) * unit;
    const ticks = [];
    for (let v = 0; v <= top * 1.0001; v += step) ticks.push(v);
    return ticks;
  }

  function svgEl(tag, attrs, parent) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (parent) parent.appendChild(el);
    return el;
  }

  function buildMemory(pane) {
    const { p } = pane;
    const holder = pane.el.querySelector(".memory-holder");
    if (!p.memory) {
      holder.remove();
      return;
    }
    pane.memoryHolder = holder;
    holder.addEventListener("click", (ev) => {
      // a click on the strip moves the sweep there
      const m = pane.memory;
      if (!m) return;
      const x = ev.clientX - holder.getBoundingClientRect().left;
      const k = Math.round(((x - MEM.left) / m.w) * p.n);
      if (k >= 0 && k <= p.n) setPos(pane === lead ? k : Math.round((k * total) / Math.max(1, p.n)));
    });
    new ResizeObserver(() => drawMemory(pane)).observe(holder);
    drawMemory(pane);
  }

  function drawMemory(pane) {
    const { p } = pane;
    const holder = pane.memoryHolder;
    const width = holder.clientWidth;
    if (!width || (pane.memory && pane.memory.width === width)) return;
    const { held, segments } = p.memory;
    const w = Math.max(10, width - MEM.left - MEM.right);
    const h = MEM.height - MEM.top - MEM.bottom;
    const X = (k) => MEM.left + (k / Math.max(1, p.n)) * w;
    const Y = (b) => MEM.top + h - (b / memoryTop) * h;
    holder.innerHTML = "";
    const svg = svgEl("svg", { width, height: MEM.height, class: "memory" }, holder);
    for (const v of memoryTicks(memoryTop, Math.max(2, Math.floor(h / 14)))) {  // a label every 14 px or more
      svgEl("line", { x1: MEM.left, x2: MEM.left + w, y1: Y(v), y2: Y(v), class: "mem-grid" }, svg);
      const label = svgEl("text", { x: MEM.left - 4, y: Y(v) + 4, class: "mem-tick" }, svg);
      label.textContent = bytes(v);
    }
    // checkpoint segments: shaded where the sweep runs inside one, a mark where it ran the segment again
    for (const [first, last, steps] of segments) {
      const band = svgEl("rect", { x: X(first - 1), y: MEM.top, width: Math.max(1, X(last) - X(first - 1)), height: h, class: "mem-segment" }, svg);
      svgEl("title", {}, band).textContent =
        `tl.checkpoint segment ${steps}: run again at VJP ${first} (${bytes(held[first - 1])} -> ${bytes(held[first])})`;
      svgEl("line", { x1: X(first), x2: X(first), y1: MEM.top, y2: MEM.top + h, class: "mem-recompute" }, svg);
      const label = svgEl("text", { x: X(first - 1) + 2, y: MEM.top - 3, class: "mem-seg-label" }, svg);
      label.textContent = `\u21bb ${steps}`;
      if (label.getComputedTextLength() > X(last) - X(first - 1) - 2) label.textContent = "\u21bb";
    }
    // the bytes held as a step line: each position's value up to the next one (past 2 points a pixel,
    // each pixel keeps its highest and lowest value, so no peak is lost)
    let d = `M${X(0).toFixed(1)},${Y(held[0]).toFixed(1)}`;
    const perPixel = held.length / w;
    if (perPixel <= 2) {
      for (let k = 1; k < held.length; k++) d += `H${X(k).toFixed(1)}V${Y(held[k]).toFixed(1)}`;
    } else {
      let k = 1;
      for (let px = 1; px <= Math.ceil(w); px++) {
        const end = Math.min(held.length, Math.round((px / w) * p.n) + 1);
        if (k >= end) continue;
        let hi = held[k];
        let lo = held[k];
        for (let j = k; j < end; j++) {
          hi = Math.max(hi, held[j]);
          lo = Math.min(lo, held[j]);
        }
        d += `H${X(k).toFixed(1)}V${Y(hi).toFixed(1)}V${Y(lo).toFixed(1)}V${Y(held[end - 1]).toFixed(1)}`;
        k = end;
      }
    }
    d += `H${X(p.n).toFixed(1)}`;
    svgEl("path", { d: `${d}V${Y(0)}H${X(0)}Z`, class: "mem-area" }, svg);
    svgEl("path", { d, class: "mem-line" }, svg);
    svgEl("line", { x1: MEM.left, x2: MEM.left + w, y1: Y(0), y2: Y(0), class: "mem-axis" }, svg);
    // the strip's name at the bottom left (the top band is the segments' and the marker's), the sweep across
    svgEl("text", { x: 4, y: MEM.height - 4, class: "mem-title" }, svg).textContent = "saved arrays held";
    const end = svgEl("text", { x: MEM.left + w, y: MEM.height - 4, class: "mem-axis-label end" }, svg);
    end.textContent = `VJP ${p.n}`;
    const mid = svgEl("text", { x: MEM.left + w / 2 + 30, y: MEM.height - 4, class: "mem-axis-label middle" }, svg);
    mid.textContent = segments.length ? "the sweep \u2192 (dashed: a checkpoint segment run again)" : "the sweep \u2192";
    if (mid.getComputedTextLength() > w - 150) mid.textContent = "the sweep \u2192";
    // the marker: where the sweep is, and what is held there
    const marker = svgEl("g", { class: "mem-marker" }, svg);
    svgEl("line", { y1: MEM.top, y2: MEM.top + h }, marker);
    svgEl("circle", { r: 3.5 }, marker);
    const back = svgEl("rect", { height: 14, class: "mem-value-back" }, marker);
    const text = svgEl("text", { class: "mem-value" }, marker);
    pane.memory = { width, w, X, Y, marker, text, back };
    paintMemory(pane);
  }

  function paintMemory(pane) {
    const m = pane.memory;
    if (!m) return;
    const { held } = pane.p.memory;
    const k = Math.max(0, Math.min(held.length - 1, pane.k));
    const x = m.X(k);
    const y = m.Y(held[k]);
    m.marker.setAttribute("transform", `translate(${x.toFixed(1)},0)`);
    m.marker.querySelector("circle").setAttribute("cy", y.toFixed(1));
    m.text.textContent = `${bytes(held[k])} held`;
    const tw = m.text.getComputedTextLength();
    // the value sits right of the marker, or left of it near the right edge, in the strip's top band
    const left = x + tw + 12 > MEM.left + m.w;
    const tx = left ? -tw - 6 : 6;
    m.text.setAttribute("x", tx);
    m.text.setAttribute("y", MEM.top + 11);
    m.back.setAttribute("x", tx - 2);
    m.back.setAttribute("y", MEM.top);
    m.back.setAttribute("width", tw + 4);
  }

  // ---- column bands: the current VJP's step, and the step under the mouse ---------------------
  function columnBox(pane, j, layer) {
    const rows = pane.p.strip.filter((row) => layer === undefined || row.layer === layer);
    const ids = rows.map((row) => row.cells[j]).filter(Boolean).map((c) => c[0]);
    let box = null;
    for (const id of ids) {
      const node = byId(pane.belt, id);
      if (!node) continue;
      const b = node.getBBox();
      box = box
        ? { x0: Math.min(box.x0, b.x), y0: Math.min(box.y0, b.y), x1: Math.max(box.x1, b.x + b.width), y1: Math.max(box.y1, b.y + b.height) }
        : { x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height };
    }
    return box;
  }

  function band(pane, cls, j, layer) {
    let rect = pane.graph.querySelector(`rect.${cls}`);
    const box = j === null ? null : columnBox(pane, j, layer);
    if (!box) {
      if (rect) rect.remove();
      return;
    }
    if (!rect) {
      rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      rect.setAttribute("class", cls);
      // behind everything but the page's white background
      const background = pane.graph.querySelector("polygon");
      pane.graph.insertBefore(rect, background ? background.nextSibling : pane.graph.firstChild);
    }
    rect.setAttribute("x", box.x0 - 6);
    rect.setAttribute("y", box.y0 - 6);
    rect.setAttribute("width", box.x1 - box.x0 + 12);
    rect.setAttribute("height", box.y1 - box.y0 + 12);
  }

  function hoverColumn(pane, j) {
    pane.hoverCol = j;
    band(pane, "band-hover", j);
    pane.el.querySelectorAll(".strip [data-col]").forEach((c) => c.classList.toggle("lit", Number(c.dataset.col) === j));
  }

  // ---- a step opened into its primitives -----------------------------------------------------
  function openStep(pane, key) {
    const step = pane.p.steps[key];
    if (!step || pane.open === key) return;
    pane.open = key;
    const holder = pane.cellView.querySelector(".cell-svg");
    holder.innerHTML = pane.p.templates[step.template].svg;
    const svg = holder.querySelector("svg");
    stripTooltips(svg);
    for (const [id, text] of Object.entries(step.texts)) {
      const node = byId(svg, id);
      const line = node && node.querySelector("text");
      if (line) line.textContent = text;
    }
    // element <-> entry: op<k> is the step's k-th entry, in<k> the k-th value it reads from outside
    const map = new Map();
    const elementOf = new Map();
    svg.querySelectorAll("g.node[id]").forEach((node) => {
      const m = /^(op|in)(\d+)$/.exec(node.id);
      if (!m) return;
      const entry = (m[1] === "op" ? step.ops : step.ins)[Number(m[2])];
      if (entry === undefined) return;
      map.set(node, entry);
      elementOf.set(entry, node.id);
      node.classList.add("clickable");
      node.addEventListener("mouseenter", () => showEntry(pane, entry));
      node.addEventListener("click", () => showEntry(pane, entry, true));
    });
    // a slice folded into the gate that reads it is drawn as that gate
    for (const [piece, reader] of Object.entries(step.inside)) {
      const node = byId(svg, `op${reader}`);
      if (node) elementOf.set(step.ops[Number(piece)], node.id);
    }
    pane.cellMap = { svg, map, elementOf };
    pane.cellView.querySelector(".cell-title").textContent = `${step.title}: ${step.ops.length} primitives`;
    const opening = pane.cellView.hidden;
    pane.cellView.hidden = false;
    if (opening) fitBelt(pane); // the belt's pane is lower now
    setSvg(pane.cellViewer, svg);
    paintCell(pane);
  }

  function closeStep(pane) {
    pane.open = null;
    pane.cellMap = null;
    pane.cellView.hidden = true;
    pane.cellView.querySelector(".cell-svg").innerHTML = "";
    setSvg(pane.cellViewer, null);
    fitBelt(pane);
  }

  function paintCell(pane) {
    if (!pane.cellMap) return;
    const { svg, map, elementOf } = pane.cellMap;
    const { p, k } = pane;
    const now = k > 0 ? p.sweep[k - 1] : null;
    const reads = new Set();
    const sends = new Set();
    if (now) {
      const entry = p.entries[now[0]];
      for (const role of now[3]) {
        const m = /^in(\d+)$/.exec(role);
        if (m && entry.parents[Number(m[1])] !== null) reads.add(entry.parents[Number(m[1])]);
      }
      now[2].forEach(([parent]) => sends.add(parent));
    }
    const here = (index) => elementOf.get(index); // the node an entry is drawn as (its own, or its gate)
    const cur = now ? here(now[0]) : undefined;
    const sendsTo = new Set([...sends].map(here));
    const readsFrom = new Set([...reads].map(here));
    for (const [node, index] of map) {
      const e = p.entries[index];
      const done = e.run >= 0 && e.run < k;
      const shapes = node.querySelectorAll("polygon, path, ellipse");
      shapes.forEach((s) => {
        if (s.getAttribute("fill") !== "none") s.style.fill = done && e.fill ? e.fill : "#ffffff"; // not a 2nd outline
      });
      node.querySelectorAll("text").forEach((t) => (t.style.fill = done && e.ink ? e.ink : "#000000"));
      node.classList.toggle("partial", !done && e.first >= 0 && e.first < k);
      node.classList.toggle("zero", done && e.gn === 0); // dashed means one thing: a gradient of exactly 0
      node.classList.toggle("cur", cur === node.id);
      node.classList.toggle("sendto", sendsTo.has(node.id) && cur !== node.id);
      node.classList.toggle("reads", readsFrom.has(node.id) && cur !== node.id);
    }
    svg.querySelectorAll("g.edge.sending").forEach((edge) => edge.classList.remove("sending"));
    for (const target of sendsTo) {
      const edge = target && cur && byId(svg, `${target}__${cur}`);
      if (edge) edge.classList.add("sending");
    }
    const outlined = cur && byId(svg, cur);
    if (outlined) scrollInto(pane.cellViewer.scroller, outlined.getBoundingClientRect());
  }

  function fitBelt(pane) {
    // the belt's default zoom follows its pane's size until the reader zooms it
    const view = pane.beltView;
    if (view.svg && !view.user) {
      view.z = defaultZoom(view);
      applyZoom(view);
    }
  }

  // ---- the sweep's position --------------------------------------------------------------------
  function paintPane(pane) {
    const { p } = pane;
    const k = kOf(pane, pos);
    pane.k = k;
    for (const [node, order] of pane.tracked) node.classList.toggle("pending", order >= k);
    for (const [td, order] of pane.stripCells) td.classList.toggle("pending", order === undefined || order >= k);
    const now = k > 0 ? p.sweep[k - 1] : null;
    // the time step the sweep is in: the current VJP's, or (a weight's VJP, which is in none) the last one
    const seg = pane.segs[pane.lastSeg[k]];
    const step = seg ? seg.step : null;
    pane.step = step;
    const col = step ? pane.colOf.get(step[1]) : undefined;
    band(pane, "band-now", col === undefined ? null : col, step ? step[0] : undefined); // this layer's rows
    pane.el.querySelectorAll(".strip [data-col]").forEach((c) => c.classList.toggle("now", Number(c.dataset.col) === col));
    pane.status.textContent = describe(p, k, now);
    if (follow.checked) {
      const own = now ? p.entries[now[0]].step : null; // the step the current VJP is drawn in, if any
      const open = own || step;
      if (open) openStep(pane, `${open[0]}|${open[1]}`);
    }
    paintCell(pane);
    paintMemory(pane);
    if (col !== undefined) keepInView(pane, col); // after a step opened: the belt's pane is lower then
  }

  function keepInView(pane, col) {
    // what the sweep is doing stays in view: the strip's column and the belt's lit band
    const th = pane.stripHolder.querySelector(`th[data-col="${col}"]`);
    if (th) {
      scrollInto(pane.stripHolder, th.getBoundingClientRect(), pane.stripHolder.querySelector("th.row"));
      snapStrip(pane, th);
    }
    const lit = pane.graph.querySelector("rect.band-now");
    if (lit) scrollInto(pane.beltHolder, lit.getBoundingClientRect());
    pin(pane);
  }

  function snapStrip(pane, now) {
    // the strip scrolled so that a column starts where its pinned row names end: no column half hidden
    // under them (the first column shown whole, or the one half under them scrolled out, whichever keeps
    // the current column in view)
    const holder = pane.stripHolder;
    const names = holder.querySelector("th.row");
    if (!names || holder.scrollLeft <= 0) return;
    const edge = names.offsetWidth; // the names' right edge, in the holder's visible part
    const heads = [...holder.querySelectorAll("th[data-col]")];
    const under = heads.find((h) => h.offsetLeft < holder.scrollLeft + edge - 0.5 && h.offsetLeft + h.offsetWidth > holder.scrollLeft + edge + 0.5);
    if (!under) return;
    const reveal = under.offsetLeft - edge; // scroll back: the half-hidden column whole
    const hide = under.offsetLeft + under.offsetWidth - edge; // scroll on: it goes out of view
    const fits = (left) => now.offsetLeft >= left + edge - 0.5 && now.offsetLeft + now.offsetWidth <= left + holder.clientWidth + 0.5;
    holder.scrollLeft = fits(reveal) || !fits(hide) ? reveal : hide;
  }

  function scrollInto(holder, r, sticky) {
    // scroll the holder (not the page) so that r is inside its visible part; centred when it was not.
    // A sticky row name covers the holder's left edge: r must be right of it
    const h = holder.getBoundingClientRect();
    const left = h.left + holder.clientLeft + (sticky ? sticky.getBoundingClientRect().width : 0);
    const right = h.left + holder.clientLeft + holder.clientWidth;
    const top = h.top + holder.clientTop;
    const bottom = top + holder.clientHeight;
    if (r.left < left || r.right > right) holder.scrollLeft += (r.left + r.right) / 2 - (left + right) / 2;
    if (r.top < top || r.bottom > bottom) holder.scrollTop += (r.top + r.bottom) / 2 - (top + bottom) / 2;
  }

  function describe(p, k, now) {
    if (!now) return `VJP 0 of ${p.n}: the sweep has not started; press \u2192 to run the loss's VJP`;
    const e = p.entries[now[0]];
    const where = e.scope ? ` in ${e.scope}` : "";
    const kind = e.op === "leaf" ? `${e.ref}.grad += g` : `${e.op}.vjp of ${e.ref}`;
    const sent = now[2].map(([q, n]) => `${p.entries[q].ref} ${fmt(n)}`).join(", ");
    const reads = now[3].length ? ` reads ${now[3].join(", ")};` : "";
    return `VJP ${k} of ${p.n}: ${kind}${where}\n  received ||g|| = ${fmt(now[1])};${reads} sent ${sent || "nothing (a leaf)"}`;
  }

  function setPos(k) {
    pos = Math.max(0, Math.min(total, k));
    slider.value = String(pos);
    document.getElementById("position").textContent = `VJP ${pos} / ${total}`;
    for (const pane of panes) paintPane(pane);
  }

  // Panes of different lengths step together. The longest sweep sets the position; a recording whose
  // sweep enters the same time steps in the same order is mapped step by step (its k-th step begins when
  // the longest's does, so both panes are always in the same step), any other in proportion.
  function kOf(pane, at) {
    if (pane === lead || !total) return at;
    if (!pane.anchors) return Math.round((at * pane.p.n) / total);
    const [a, b] = pane.anchors;
    let i = 0;
    let j = a.length - 1;
    while (j - i > 1) {
      const m = (i + j) >> 1;
      if (a[m] <= at) i = m;
      else j = m;
    }
    if (a[i + 1] === a[i]) return b[i];
    return b[i] + Math.floor(((b[i + 1] - b[i]) * (at - a[i])) / (a[i + 1] - a[i]));
  }

  function align() {
    const ts = (pane) => pane.segs.map((s) => s.step[1]).join(",");
    for (const pane of panes) {
      if (pane === lead || ts(pane) !== ts(lead)) continue;
      pane.anchors = [
        [0, ...lead.segs.map((s) => s.k), total],
        [0, ...pane.segs.map((s) => s.k), pane.p.n],
      ];
    }
  }

  function nextStep(direction) {
    // Shift+arrow: to the VJP where the sweep enters the next (previous) time step
    const here = lead.lastSeg[kOf(lead, pos)];
    const to = here + direction;
    if (to < 0) setPos(0);
    else if (to >= lead.segs.length) setPos(total);
    else setPos(lead.segs[to].k);
  }

  // ---- details of one entry --------------------------------------------------------------------
  function heatMap(map) {
    const [rows, cols, values] = map;
    const size = Math.max(4, Math.min(18, Math.floor(240 / Math.max(cols, 1))));
    const canvas = document.createElement("canvas");
    canvas.width = cols * size;
    canvas.height = rows * size;
    const ctx = canvas.getContext("2d");
    const finite = values.filter((v) => typeof v === "number");
    const top = Math.max(1e-300, ...finite.map(Math.abs));
    values.forEach((v, i) => {
      let colour = "#e31a1c"; // NaN/Inf, as in the pictures
      if (typeof v === "number") {
        const a = Math.min(1, Math.abs(v) / top); // diverging: blue below zero, red above, white at 0
        const [r, g, b] = v < 0 ? [33, 102, 172] : [178, 24, 43];
        colour = `rgb(${Math.round(255 + (r - 255) * a)},${Math.round(255 + (g - 255) * a)},${Math.round(255 + (b - 255) * a)})`;
      }
      ctx.fillStyle = colour;
      ctx.fillRect((i % cols) * size, Math.floor(i / cols) * size, size, size);
    });
    canvas.title = `${rows} x ${cols}, colour scaled to max |x| = ${top.toExponential(2)} (blue < 0 < red)`;
    return canvas;
  }

  function showEntry(pane, index, pinned) {
    const e = pane.p.entries[index];
    const info = document.getElementById("info");
    if (info.dataset.pinned && !pinned) return;
    if (pinned) info.dataset.pinned = "1";
    const details = document.getElementById("details"); // the key under it stays
    const arrived = e.run >= 0 && e.run < pane.k;
    const rows = [
      ["name", e.ref],
      ["op", e.op],
      ["shape", e.shape],
      ["dtype", e.dtype],
      ["scope", e.scope || "-"],
      ["source", e.source || "(record with Tape(sources=True))"],
      ["||value||", fmt(e.vn)],
      ["||dL/d value||", arrived ? fmt(e.gn) : e.run >= 0 ? `arrives at VJP ${e.run + 1}` : "no gradient reached it"],
    ];
    details.innerHTML =
      (pinned ? "<p class='hint'>pinned (click the page background to unpin)</p>" : "") +
      "<table>" + rows.map(([a, b]) => `<tr><td>${a}</td><td class="code">${esc(b)}</td></tr>`).join("") + "</table>";
    if (e.v) {
      details.insertAdjacentHTML("beforeend", "<div>value</div>");
      details.appendChild(heatMap(e.v));
    }
    if (e.g && arrived) {
      details.insertAdjacentHTML("beforeend", "<div>gradient</div>");
      details.appendChild(heatMap(e.g));
    }
  }

  // ---- controls ----------------------------------------------------------------------------------
  function play(on) {
    if (timer) clearInterval(timer);
    timer = null;
    document.getElementById("play").textContent = on ? "pause" : "play";
    if (!on) return;
    if (pos >= total) setPos(0);
    timer = setInterval(() => {
      setPos(pos + Number(document.getElementById("speed").value));
      if (pos >= total) play(false);
    }, 60);
  }

  slider.addEventListener("input", () => setPos(Number(slider.value)));
  document.getElementById("start").addEventListener("click", () => setPos(0));
  document.getElementById("end").addEventListener("click", () => setPos(total));
  document.getElementById("back").addEventListener("click", () => setPos(pos - 1));
  document.getElementById("forward").addEventListener("click", () => setPos(pos + 1));
  document.getElementById("play").addEventListener("click", () => play(!timer));
  follow.addEventListener("change", () => setPos(pos));
  document.addEventListener("keydown", (ev) => {
    const keys = {
      ArrowRight: () => (ev.shiftKey ? nextStep(1) : setPos(pos + 1)),
      ArrowLeft: () => (ev.shiftKey ? nextStep(-1) : setPos(pos - 1)),
      Home: () => setPos(0),
      End: () => setPos(total),
      " ": () => play(!timer),
    };
    const zoom = { "+": "in", "=": "in", "-": "out", _: "out", 0: "fit" }[ev.key];
    if (zoom && !ev.ctrlKey && !ev.metaKey && !ev.altKey && ev.target.tagName !== "SELECT") {
      ev.preventDefault();
      zoomKey(activeView && activeView.svg ? activeView : panes[0].beltView, zoom);
      return;
    }
    if (ev.target.tagName === "SELECT" || !(ev.key in keys)) return;
    ev.preventDefault(); // the slider would move a second time
    keys[ev.key]();
  });
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest("g.node") && !ev.target.closest("#info")) delete document.getElementById("info").dataset.pinned;
  });

  document.getElementById("panes").classList.toggle("compare", data.panes.length > 1);
  const panes = data.panes.map(makePane);
  const lead = panes.find((pane) => pane.p.n === total);
  align();
  for (const pane of panes) setSvg(pane.beltView, pane.belt);
  activate(panes[0].beltView);
  window.addEventListener("resize", () => panes.forEach(fitBelt));
  setPos(0);
  // for tests and the curious: the page's state, and a way to move it
  window.explorer = { total, setPos, get pos() { return pos; }, panes, zoom: zoomKey };
})();
