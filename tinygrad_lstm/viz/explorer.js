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

  // ---- one pane per recording ---------------------------------------------------------------
  function makePane(p, index) {
    const el = document.createElement("section");
    el.className = "pane";
    el.innerHTML =
      (p.label ? `<h2>${esc(p.label)}</h2>` : "") +
      `<div class="status"></div><div class="belt">${p.svg}</div><div class="strip-holder"><table class="strip"></table></div>` +
      `<div class="cell-view" hidden><div class="cell-head"><span class="cell-title"></span>` +
      `<button class="close" title="close this step">close</button></div><div class="cell-svg"></div></div>`;
    document.getElementById("panes").appendChild(el);
    const pane = { p, index, el, k: 0, open: null, cellMap: null, hoverCol: null };
    pane.status = el.querySelector(".status");
    pane.belt = el.querySelector(".belt svg");
    pane.cellView = el.querySelector(".cell-view");
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
    // the belt may shrink to its pane, but not below 3/4 of its natural size (text stays >= 9 px);
    // past that the pane scrolls, and follows the sweep
    const natural = pane.belt.width.baseVal.value;
    if (natural) pane.belt.style.minWidth = `${Math.round(0.75 * natural)}px`;
    pane.colOf = new Map(); // t -> column
    p.columns.forEach((ts, j) => ts.forEach((t) => pane.colOf.set(t, j)));
    buildStrip(pane);
    el.querySelector(".close").addEventListener("click", () => {
      follow.checked = false;
      closeStep(pane);
    });
    return pane;
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
      body += "</tr>";
    }
    table.innerHTML = head + "</tr>" + body;
    pane.stripCells = [...table.querySelectorAll("td[data-id]")].map((td) => [td, p.arrive[td.dataset.id]]);
    table.querySelectorAll("[data-col]").forEach((cell) => {
      const j = Number(cell.dataset.col);
      cell.addEventListener("mouseenter", () => hoverColumn(pane, j));
      cell.addEventListener("mouseleave", () => hoverColumn(pane, null));
    });
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
    pane.cellView.hidden = false;
    paintCell(pane);
  }

  function closeStep(pane) {
    pane.open = null;
    pane.cellMap = null;
    pane.cellView.hidden = true;
    pane.cellView.querySelector(".cell-svg").innerHTML = "";
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
      shapes.forEach((s) => (s.style.fill = done && e.fill ? e.fill : "#ffffff"));
      node.querySelectorAll("text").forEach((t) => (t.style.fill = done && e.ink ? e.ink : "#000000"));
      node.classList.toggle("partial", !done && e.first >= 0 && e.first < k);
      node.classList.toggle("cur", cur === node.id);
      node.classList.toggle("sendto", sendsTo.has(node.id) && cur !== node.id);
      node.classList.toggle("reads", readsFrom.has(node.id) && cur !== node.id);
    }
    svg.querySelectorAll("g.edge.sending").forEach((edge) => edge.classList.remove("sending"));
    for (const target of sendsTo) {
      const edge = target && cur && byId(svg, `${target}__${cur}`);
      if (edge) edge.classList.add("sending");
    }
  }

  // ---- the sweep's position --------------------------------------------------------------------
  function paintPane(pane) {
    const { p } = pane;
    const k = total ? Math.round((pos * p.n) / total) : 0; // panes of different lengths step together
    pane.k = k;
    for (const [node, order] of pane.tracked) node.classList.toggle("pending", order >= k);
    for (const [td, order] of pane.stripCells) td.classList.toggle("pending", order === undefined || order >= k);
    const now = k > 0 ? p.sweep[k - 1] : null;
    const step = now ? p.entries[now[0]].step : null;
    const col = step ? pane.colOf.get(step[1]) : undefined;
    band(pane, "band-now", col === undefined ? null : col, step ? step[0] : undefined); // this layer's rows
    pane.el.querySelectorAll(".strip [data-col]").forEach((c) => c.classList.toggle("now", Number(c.dataset.col) === col));
    pane.status.textContent = describe(p, k, now);
    if (col !== undefined) keepInView(pane, col);
    if (follow.checked) {
      if (step) openStep(pane, `${step[0]}|${step[1]}`);
    }
    paintCell(pane);
  }

  function keepInView(pane, col) {
    // what the sweep is doing stays in view: the strip's column and the belt's lit band
    const th = pane.stripHolder.querySelector(`th[data-col="${col}"]`);
    if (th) scrollInto(pane.stripHolder, th.getBoundingClientRect());
    const lit = pane.graph.querySelector("rect.band-now");
    if (lit) scrollInto(pane.beltHolder, lit.getBoundingClientRect());
  }

  function scrollInto(holder, r) {
    const h = holder.getBoundingClientRect();
    if (r.left < h.left || r.right > h.right) holder.scrollLeft += (r.left + r.right) / 2 - (h.left + h.right) / 2;
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

  function nextStep(direction) {
    // the next position where the (first) pane's sweep enters another time step
    const p = panes[0].p;
    const stepAt = (k) => (k > 0 && k <= p.n ? JSON.stringify(p.entries[p.sweep[k - 1][0]].step) : null);
    const scaled = (k) => Math.round((k * p.n) / total);
    const here = stepAt(scaled(pos));
    let k = pos;
    do k += direction;
    while (k > 0 && k < total && stepAt(scaled(k)) === here);
    setPos(k);
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
    info.innerHTML =
      (pinned ? "<p class='hint'>pinned (click the page background to unpin)</p>" : "") +
      "<table>" + rows.map(([a, b]) => `<tr><td>${a}</td><td class="code">${esc(b)}</td></tr>`).join("") + "</table>";
    if (e.v) {
      info.insertAdjacentHTML("beforeend", "<div>value</div>");
      info.appendChild(heatMap(e.v));
    }
    if (e.g && arrived) {
      info.insertAdjacentHTML("beforeend", "<div>gradient</div>");
      info.appendChild(heatMap(e.g));
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
    if (ev.target.tagName === "SELECT" || !(ev.key in keys)) return;
    ev.preventDefault(); // the slider would move a second time
    keys[ev.key]();
  });
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest("g.node") && !ev.target.closest("#info")) delete document.getElementById("info").dataset.pinned;
  });

  document.getElementById("panes").classList.toggle("compare", data.panes.length > 1);
  const panes = data.panes.map(makePane);
  setPos(0);
  // for tests and the curious: the page's state, and a way to move it
  window.explorer = { total, setPos, get pos() { return pos; }, panes };
})();
