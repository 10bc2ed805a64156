// swarmlab ui: renders each snapshot the server pushes. Every name and label goes in as text, never as markup.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, String(value));
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function banner(text) {
  const b = document.getElementById("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

function ports(service) {
  return service.ports.map(p => `${p.published}→${p.target}/${p.protocol} (${p.mode})`).join(", ") || "none";
}

function modeOf(service) {
  const modes = new Set(service.ports.map(p => p.mode));
  return [service.mode, ...modes].join(" · ");
}

function renderServices(view) {
  const body = document.querySelector("#services tbody");
  body.replaceChildren(...view.services.map(s => el("tr", {"data-service": s.name},
    el("td", {}, s.name),
    el("td", {}, s.image),
    el("td", {"class": "replicas"}, `${s.running}/${s.desired}`),
    el("td", {}, modeOf(s)),
    el("td", {}, ports(s)),
    el("td", {"class": "update"}, s.update ? `${s.update.state}${s.update.message ? ": " + s.update.message : ""}` : ""),
  )));
}

function card(task) {
  const stopping = task.desired !== "running" && !task.old && !task.lost && task.state === "running";
  const slot = task.slot ? `.${task.slot}` : "";
  const why = [task.error, task.message].filter(Boolean).join(" — ");
  const classes = ["task", `state-${task.state}`, stopping ? "stopping" : "", task.lost ? "lost" : "", task.old ? "old" : ""].join(" ");
  const detail = el("div", {"class": "detail", hidden: true}, why || "no message");
  const c = el("div", {"class": classes, "data-service": task.service, "data-tag": task.tag, "data-state": task.state, title: why},
    el("b", {}, `${task.service}${slot}`), " ",
    el("span", {"class": "tag"}, task.tag), " ",
    el("span", {"class": "state"}, task.lost ? "lost with the node" : stopping ? "stopping" : task.state),
    detail);
  c.addEventListener("click", () => { detail.hidden = !detail.hidden; });
  return c;
}

function column(node, tasks, badges) {
  const header = node.id
    ? [el("h3", {}, node.name, node.leader ? " ★" : ""),
       el("div", {"class": "meta"},
         el("div", {"class": "role"}, node.role, node.leader ? " (leader)" : node.reachability ? ` (${node.reachability})` : ""),
         el("div", {"class": "availability"}, node.availability),
         el("div", {"class": "status"}, node.status, node.message ? ` — ${node.message}` : ""),
         el("div", {}, `engine ${node.engine}`),
         el("div", {}, node.addr),
         ...Object.entries(node.labels).map(([k, v]) => el("span", {"class": "label"}, `${k}=${v}`)),
         el("div", {"class": "badges"}, ...badges.map(b =>
           el("span", {"class": `badge ${b.ok ? "ok" : "ko"}`, "data-port": b.port, title: b.detail},
              `${b.port} ${b.ok ? "answers" : "does not answer"}`))))]
    : [el("h3", {}, "not on a node")];
  const classes = ["node", node.availability || "", node.status === "down" ? "down" : ""].join(" ");
  return el("div", {"class": classes, "data-node": node.name, "data-availability": node.availability || ""},
    ...header, ...tasks.map(card));
}

function render(view) {
  document.body.classList.toggle("stale", !view.ok);
  banner(view.ok ? "" : view.error);
  document.getElementById("source").textContent =
    view.ok ? `read through ${view.manager} at ${view.read_at}` : `last read failed at ${view.read_at}`;
  renderServices(view);
  const byNode = new Map(view.nodes.map(n => [n.id, []]));
  const unassigned = [];
  for (const t of view.tasks) (byNode.get(t.node) || unassigned).push(t);
  const columns = view.nodes.map(n => column(n, byNode.get(n.id), view.badges.filter(b => b.node === n.name)));
  if (unassigned.some(t => !t.old)) columns.push(column({name: "", labels: {}}, unassigned, []));
  document.getElementById("nodes").replaceChildren(...columns);
}

const showEnded = document.getElementById("show-ended");
showEnded.addEventListener("change", () => document.body.classList.toggle("show-ended", showEnded.checked));

const events = new EventSource("/events");
events.addEventListener("snapshot", e => render(JSON.parse(e.data)));
events.addEventListener("error", () => banner("lost the connection to swarmlab ui; retrying…"));
events.addEventListener("open", () => banner(""));
