"""The vm driver's plan: each node of the lab as a VM (address, tap, sizes) and the lab_vm arguments for it."""

from __future__ import annotations

import math

from ansible.module_utils.common.text.formatters import human_to_bytes

MIB = 1048576


def lab_vms(nodes, subnet, prefix, memory="", vm_memory="1g", vm_disk="20000m", cpus=0, ports=()):
    """One dict per node, in the lab's order: the host-only network's .100 onwards, one tap each.

    memory: the lab's memory for every node ("" = vm_memory); a node's own memory, disk, cpus and ports win.
    A node's vm_image (an image directory, e.g. another release's) replaces the lab's image for that VM.
    """
    net = subnet.split("/")[0].rsplit(".", 1)[0]
    out = []
    for index, node in enumerate(nodes):
        out.append({
            "name": node["name"],
            "role": node.get("role") or "worker",
            "ip": f"{net}.{100 + index}",
            "tap": f"{prefix}-{index}",
            "memory": human_to_bytes(node.get("memory") or memory or vm_memory) // MIB,
            "disk": human_to_bytes(node.get("disk") or vm_disk) // MIB,
            "cpus": math.ceil(float(node.get("cpus") or cpus or 1)),  # qemu takes whole vCPUs
            "ports": list(node.get("ports") or []) + list(ports),
            "image": node.get("vm_image") or "",
        })
    return out


def lab_vm_args(vms, lab, vm_dir, image, accel, user, public_key, host_keys_dir):
    """lab_vm's arguments per VM name: the qemu name, its directory, sizes, and the seed disk's identity."""
    out = {}
    for vm in vms:
        key = f"{host_keys_dir}/{vm['name']}"
        out[vm["name"]] = {
            "name": f"{lab}-{vm['name']}",
            "dir": f"{vm_dir}/{vm['name']}",
            "image": vm.get("image") or image,
            "memory": vm["memory"],
            "cpus": vm["cpus"],
            "disk": vm["disk"],
            "accel": accel,
            "tap": vm["tap"],
            "ports": vm["ports"],
            "seed": {"hostname": vm["name"], "address": f"{vm['ip']}/24", "user": user, "authorized_keys": public_key},
            "seed_files": {"ssh_host_ed25519_key": key, "ssh_host_ed25519_key.pub": f"{key}.pub"},
            "info": {"role": vm["role"], "ip": vm["ip"], "user": user},
        }
    return out


class FilterModule:
    def filters(self):
        return {"lab_vms": lab_vms, "lab_vm_args": lab_vm_args}
