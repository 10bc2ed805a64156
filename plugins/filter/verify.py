"""Turn the swarm's state (Docker API objects from docker_swarm_info) into check rows.

A row is {check, target, ok, detail}: one per node, one per service, one per HTTP answer expected.
"""

from __future__ import annotations

from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import image_name as _image
from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import node_addr as _addr
from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import proxied, proxy_name, tasks_wanted


def _running(tasks, service_id):
    return [t for t in tasks if t.get("ServiceID") == service_id and t.get("DesiredState") == "running"]


def node_rows(nodes):
    rows = []
    for node in sorted(nodes, key=lambda n: n["Description"]["Hostname"]):
        state = node["Status"]["State"]
        availability = node["Spec"]["Availability"]
        manager = node.get("ManagerStatus")
        role = "worker"
        ok = state == "ready"
        if manager:
            role = "leader" if manager.get("Leader") else "manager, " + manager.get("Reachability", "unknown")
            ok = ok and manager.get("Reachability") == "reachable"
        rows.append({"check": "node", "target": node["Description"]["Hostname"], "ok": ok,
                     "detail": f"{state}, {availability}, {role}"})
    return rows


def service_rows(services, tasks, nodes, specs=None, overrides=None):
    """Every service converged: its wanted number of tasks running, all on its image.

    specs (swarm_services_specs) add what the operator asked for: present services exist with
    that image (or its override) and replica count; absent ones are gone.
    """
    overrides = overrides or {}
    by_name = {s["Spec"]["Name"]: s for s in services}
    rows = []
    for name in sorted(by_name):
        service = by_name[name]
        image = _image(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
        # Global: a task on every node that takes tasks and that its placement allows.
        wanted = tasks_wanted(service, nodes)
        desired = _running(tasks, service["ID"])
        running = [t for t in desired if t["Status"]["State"] == "running"
                   and _image(t["Spec"]["ContainerSpec"]["Image"]) == image]
        problems = []
        if len(running) != wanted or len(desired) != wanted:
            problems.append(f"{len(running)}/{wanted} tasks running {image}")
        errors = sorted({t["Status"]["Err"] for t in desired if t["Status"].get("Err")})
        problems += errors
        ok = not problems
        detail = f"{len(running)}/{wanted} tasks running {image}" if ok else "; ".join(problems)
        rows.append({"check": "service", "target": name, "ok": ok, "detail": detail})
    for spec in specs or []:
        name = spec["name"]
        if spec.get("state", "present") == "absent":
            if name in by_name:
                rows.append({"check": "service", "target": name, "ok": False, "detail": "should be absent but exists"})
            continue
        if name not in by_name:
            rows.append({"check": "service", "target": name, "ok": False, "detail": "not deployed"})
            continue
        want_image = overrides.get(name, spec["image"])
        service = by_name[name]
        have_image = _image(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
        have_replicas = service["Spec"]["Mode"].get("Replicated", {}).get("Replicas")
        want_replicas = int(spec.get("replicas", 1))
        if have_image != want_image or have_replicas != want_replicas:
            rows.append({"check": "service", "target": name, "ok": False,
                         "detail": f"runs {have_image} x{have_replicas}, expected {want_image} x{want_replicas}"})
    return rows


def published_expectations(services):
    """With no exercise: an HTTP answer (any status below 500) on every port a service publishes, itself or
    through its proxy (NAME-proxy's ports count as NAME's)."""
    names = {s["Spec"]["Name"] for s in services}
    out = []
    for service in sorted(services, key=lambda s: s["Spec"]["Name"]):
        name = service["Spec"]["Name"]
        name = proxied(name, names) or name
        for port in (service["Spec"].get("EndpointSpec") or {}).get("Ports") or []:
            if port.get("PublishedPort") and port.get("Protocol", "tcp") == "tcp":
                out.append({"service": name, "port": int(port["PublishedPort"]), "expect": ""})
    return out


def http_targets(services, tasks, nodes, expectations):
    """Where each expected answer must come from: (service, port, expect, node, url).

    A port published in ingress mode answers on every ready node; in host mode only where a task of
    the service (or of its proxy, NAME-proxy) runs.
    """
    by_name = {s["Spec"]["Name"]: s for s in services}
    names = {n["ID"]: n["Description"]["Hostname"] for n in nodes}
    ready = [n for n in nodes if n["Status"]["State"] == "ready"]
    targets = []
    for exp in expectations or []:
        port = int(exp["port"])
        hosts = None
        for candidate in (exp["service"], proxy_name(exp["service"])):
            service = by_name.get(candidate)
            ports = (service or {}).get("Spec", {}).get("EndpointSpec", {}).get("Ports", [])
            published = [p for p in ports if p.get("PublishedPort") == port]
            if not published:
                continue
            if published[0].get("PublishMode", "ingress") == "ingress":
                hosts = ready
            else:
                on = {t["NodeID"] for t in _running(tasks, service["ID"]) if t["Status"]["State"] == "running"}
                hosts = [n for n in ready if n["ID"] in on]
            break
        if hosts is None:
            targets.append({"service": exp["service"], "port": port, "expect": exp["expect"], "node": "", "url": ""})
            continue
        for node in sorted(hosts, key=lambda n: names[n["ID"]]):
            targets.append({"service": exp["service"], "port": port, "expect": exp["expect"],
                            "node": names[node["ID"]], "url": f"http://{_addr(node)}:{port}/"})
    return targets


def http_first(targets, pages):
    """The controller's first request for each target (url lookup results, registered loop results, whose
    page is None where the request failed): the target with its answer when that answer passes, else marked
    to be asked again (uri, with status and retries). Targets with no URL pass through to http_rows."""
    pages = {r["item"]["url"]: r.get("ansible_facts", {}).get("verify_page") for r in pages if not r.get("skipped")}
    out = []
    for target in targets:
        page = pages.get(target["url"])
        if target["url"] and isinstance(page, str) and target["expect"] in page:
            out.append({"item": target, "first": True})
        elif target["url"]:
            out.append({"item": target, "again": True})
        else:
            out.append({"item": target})
    return out


def http_rows(results, again=None):
    """Rows from http_first's list, where each target marked `again` takes the next of the uri results
    (registered loop results, in the same order); or from uri results alone."""
    again = iter(again or [])
    rows = []
    for result in results:
        if result.get("again"):
            result = next(again, {"item": result["item"], "status": -1, "msg": "not asked"})
        target = result["item"]
        label = f"{target['service']}:{target['port']} on {target['node'] or 'no node'}"
        if not target["url"]:
            rows.append({"check": "http", "target": label, "ok": False,
                         "detail": f"port {target['port']} is not published by {target['service']} or {proxy_name(target['service'])}"})
            continue
        if result.get("first"):  # a 2xx answer at the first request (the url lookup fails on any other)
            found = f", {target['expect']!r} found" if target["expect"] else ""
            rows.append({"check": "http", "target": label, "ok": True, "detail": f"HTTP 2xx from {target['url']}{found}"})
            continue
        status = result.get("status", -1)
        body = result.get("content", "") or ""
        found = target["expect"] in body
        if not target["expect"]:  # any answer from the service (published_expectations)
            ok = 100 <= status < 500
            detail = f"HTTP {status} from {target['url']}" if ok else f"{target['url']}: " + (
                f"HTTP {status}" if status > 0 else result.get("msg", "no answer"))
            rows.append({"check": "http", "target": label, "ok": ok, "detail": detail})
            continue
        ok = status == 200 and found
        if ok:
            detail = f"200 from {target['url']}, {target['expect']!r} found"
        elif status == 200:
            detail = f"200 from {target['url']} but {target['expect']!r} not in the page"
        else:
            detail = f"{target['url']}: " + (f"HTTP {status}" if status > 0 else result.get("msg", "no answer"))
        rows.append({"check": "http", "target": label, "ok": ok, "detail": detail})
    return rows


def status(services, tasks, nodes):
    """`docker node ls` and `docker service ls` / `docker service ps`, as plain data."""
    names = {n["ID"]: n["Description"]["Hostname"] for n in nodes}
    out_nodes = []
    for node in sorted(nodes, key=lambda n: (n["Spec"]["Role"] != "manager", n["Description"]["Hostname"])):
        manager = node.get("ManagerStatus") or {}
        out_nodes.append({
            "name": node["Description"]["Hostname"],
            "role": node["Spec"]["Role"],
            "status": node["Status"]["State"],
            "availability": node["Spec"]["Availability"],
            "manager_status": "leader" if manager.get("Leader") else manager.get("Reachability", ""),
            "address": _addr(node),
            "engine": node["Description"].get("Engine", {}).get("EngineVersion", ""),
            "labels": node["Spec"].get("Labels") or {},
        })
    out_services = []
    for service in sorted(services, key=lambda s: s["Spec"]["Name"]):
        spec = service["Spec"]
        mode = spec["Mode"]
        wanted = tasks_wanted(service, nodes)  # as the checks count it: placement decides a global service's nodes
        mine = [t for t in tasks if t.get("ServiceID") == service["ID"]]
        running = [t for t in mine if t.get("DesiredState") == "running" and t["Status"]["State"] == "running"]
        ports = [f"{p.get('PublishedPort')}:{p.get('TargetPort')}/{p.get('Protocol', 'tcp')} ({p.get('PublishMode', 'ingress')})"
                 for p in spec.get("EndpointSpec", {}).get("Ports", [])]
        rows = []
        for t in sorted(mine, key=lambda t: (t.get("Slot", 0), t.get("DesiredState") != "running", t.get("CreatedAt", ""))):
            rows.append({
                "name": f"{spec['Name']}.{t['Slot']}" if t.get("Slot") else f"{spec['Name']}.{t.get('NodeID', '')[:12]}",
                "node": names.get(t.get("NodeID", ""), ""),
                "image": _image(t["Spec"]["ContainerSpec"]["Image"]),
                "desired_state": t.get("DesiredState", ""),
                "state": t["Status"]["State"],
                "error": t["Status"].get("Err", ""),
            })
        out_services.append({
            "name": spec["Name"],
            "mode": "replicated" if "Replicated" in mode else "global",
            "replicas": f"{len(running)}/{wanted}",
            "image": _image(spec["TaskTemplate"]["ContainerSpec"]["Image"]),
            "ports": ports,
            "tasks": rows,
        })
    return {"nodes": out_nodes, "services": out_services}


def row_line(row):
    return f"{'PASS' if row['ok'] else 'FAIL'} {row['check']} {row['target']}: {row['detail']}"


class FilterModule:
    def filters(self):
        return {
            "verify_node_rows": node_rows,
            "verify_service_rows": service_rows,
            "verify_http_targets": http_targets,
            "verify_published_expectations": published_expectations,
            "verify_http_first": http_first,
            "verify_http_rows": http_rows,
            "verify_row_line": row_line,
            "verify_status": status,
        }
