#!/usr/bin/python
"""A lab VM under qemu: the lab_nodes role's vm driver (docker-machine's VirtualBox driver, on qemu)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_vm
short_description: Start or remove one lab VM (qemu, a copy-on-write overlay of the lab's base image)
description:
  - C(started) boots the VM when it is not running: a qcow2 overlay over the base image, a small seed disk
    with the VM's identity (read by the image's swarmlab-identity service), a NAT NIC and a NIC on a tap
    of the lab's host-only bridge. A running VM with the same settings is left alone; one with other
    settings is stopped and booted again with its disk kept (a new base image gives it a new disk).
  - C(absent) stops the VM (by the PID this module recorded, never by name) and removes its directory.
options:
  name: {description: VM name (qemu's -name; the lab's prefix included)., type: str, required: true}
  state: {description: Wanted state., type: str, choices: [started, absent], default: started}
  dir: {description: The VM's own directory (disk, seed, PID, console log)., type: path, required: true}
  image: {description: Directory of the base image (disk.raw, vmlinuz, initrd.img, recipe)., type: path}
  memory: {description: Memory in MiB., type: int, default: 1024}
  cpus: {description: Virtual CPUs., type: int, default: 1}
  disk: {description: Disk size in MiB (the overlay's virtual size; the guest grows its filesystem to it)., type: int, default: 20000}
  accel: {description: Accelerator., type: str, choices: [tcg, kvm], default: tcg}
  tap: {description: Tap interface of the host-only NIC., type: str}
  ports: {description: '"HOST:GUEST" TCP ports forwarded from 127.0.0.1 to the VM., type: list, elements: str, default: []}
  seed: {description: 'Identity files for the seed disk: file name -> content.', type: dict, default: {}}
  seed_files: {description: 'Files copied onto the seed disk: file name -> path on this host (keeps secrets out of the arguments).', type: dict, default: {}}
  info: {description: Facts recorded beside the VM for `swarmlab lab ls` (role, address)., type: dict, default: {}}
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

KERNEL_ARGS = "console=ttyS0 root=/dev/vda rw net.ifnames=0 apparmor=0 quiet"


def running_pid(vm_dir: Path, name: str) -> int | None:
    """The recorded PID, if that process is still this VM's qemu."""
    try:
        pid = int((vm_dir / "pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    ours = cmdline and b"qemu-system" in cmdline[0] and b"-name" in cmdline and name.encode() in cmdline
    return pid if ours else None


def stop(pid: int, timeout: float = 10) -> None:
    """SIGTERM (qemu exits at once, like pulling the plug), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.1)


def mac(name: str, nic: int) -> str:
    h = hashlib.sha256(f"{name}/{nic}".encode()).digest()
    return "52:54:00:%02x:%02x:%02x" % (h[0], h[1], h[2])


def run(module: AnsibleModule, argv: list[str]) -> str:
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"{argv[0]} failed: {(err or out).strip()}", cmd=argv)
    return out


def seed_contents(module: AnsibleModule) -> dict[str, str]:
    out = {name: text if text.endswith("\n") else text + "\n" for name, text in module.params["seed"].items()}
    for name, path in module.params["seed_files"].items():
        try:
            out[name] = Path(path).read_text()
        except OSError as exc:
            module.fail_json(msg=f"cannot read {path} for the seed disk: {exc}")
    return out


def write_seed(module: AnsibleModule, vm_dir: Path, seed: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(dir=vm_dir) as tmp:
        for fname, content in seed.items():
            path = Path(tmp) / fname
            path.write_text(content)
            path.chmod(0o600)
        run(module, ["mke2fs", "-q", "-F", "-t", "ext2", "-L", "swarmlab-seed", "-d", tmp, str(vm_dir / "seed.img"), "1M"])


def qemu_argv(p: dict, vm_dir: Path, image: Path) -> list[str]:
    accel = ["-accel", "kvm", "-cpu", "host"] if p["accel"] == "kvm" else ["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"]
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in (x.split(":", 1) for x in p["ports"]))
    argv = ["qemu-system-x86_64", "-name", p["name"], *accel, "-smp", str(p["cpus"]), "-m", str(p["memory"]),
            "-nodefaults", "-display", "none",
            "-serial", f"file:{vm_dir / 'console.log'}",
            "-monitor", f"unix:{vm_dir / 'monitor.sock'},server,nowait",
            "-pidfile", str(vm_dir / "qemu.pid"), "-daemonize",
            "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"), "-append", KERNEL_ARGS,
            "-drive", f"file={vm_dir / 'disk.qcow2'},if=virtio,format=qcow2",
            "-drive", f"file={vm_dir / 'seed.img'},if=virtio,format=raw,readonly=on",
            "-netdev", f"user,id=nat{fwd}", "-device", f"virtio-net-pci,netdev=nat,mac={mac(p['name'], 0)}",
            "-device", "virtio-rng-pci"]
    if p["tap"]:
        argv += ["-netdev", f"tap,id=lab,ifname={p['tap']},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=lab,mac={mac(p['name'], 1)}"]
    return argv


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["started", "absent"], default="started"),
            dir=dict(type="path", required=True),
            image=dict(type="path"),
            memory=dict(type="int", default=1024),
            cpus=dict(type="int", default=1),
            disk=dict(type="int", default=20000),
            accel=dict(type="str", choices=["tcg", "kvm"], default="tcg"),
            tap=dict(type="str"),
            ports=dict(type="list", elements="str", default=[]),
            seed=dict(type="dict", default={}),
            seed_files=dict(type="dict", default={}),
            info=dict(type="dict", default={}),
        ),
        required_if=[("state", "started", ["image"])],
        supports_check_mode=True,
    )
    p = module.params
    vm_dir = Path(p["dir"])
    pid = running_pid(vm_dir, p["name"])

    if p["state"] == "absent":
        if not vm_dir.exists():
            module.exit_json(changed=False)
        if not module.check_mode:
            if pid:
                stop(pid)
            shutil.rmtree(vm_dir)
        module.exit_json(changed=True, stopped=bool(pid))

    image = Path(p["image"])
    try:
        recipe = (image / "recipe").read_text().strip()
    except OSError:
        module.fail_json(msg=f"no VM image in {image}: build it first (playbooks/lab/images.yml -e lab_images_vm=true)")
    seed = seed_contents(module)
    seed_hash = hashlib.sha256(json.dumps(seed, sort_keys=True).encode()).hexdigest()
    spec = {k: p[k] for k in ("name", "memory", "cpus", "disk", "accel", "tap", "ports")}
    spec.update(image=str(image), recipe=recipe, seed=seed_hash)
    try:
        recorded = json.loads((vm_dir / "vm.json").read_text())
    except (OSError, ValueError):
        recorded = {}
    if pid and recorded.get("spec") == spec:
        module.exit_json(changed=False, starting=False, pid=pid, dir=str(vm_dir))
    disk = vm_dir / "disk.qcow2"
    # An overlay belongs to the base it was made on: a rebuilt image means a fresh disk.
    made_on = recorded.get("spec", {}).get("recipe")
    stale = disk.exists() and made_on != recipe
    fresh_disk = stale and made_on is not None  # the image was rebuilt under a VM that had a disk
    if module.check_mode:
        module.exit_json(changed=True, starting=True, fresh_disk=fresh_disk)

    if pid:
        stop(pid)
    vm_dir.mkdir(parents=True, exist_ok=True)
    vm_dir.chmod(0o700)
    if stale:
        disk.unlink()
    if not disk.exists():
        run(module, ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image / "disk.raw"), "-F", "raw", str(disk), f"{p['disk']}M"])
    elif recorded.get("spec", {}).get("disk", 0) < p["disk"]:
        run(module, ["qemu-img", "resize", "-q", str(disk), f"{p['disk']}M"])
    if recorded.get("spec", {}).get("seed") != seed_hash or not (vm_dir / "seed.img").exists():
        write_seed(module, vm_dir, seed)

    (vm_dir / "console.log").unlink(missing_ok=True)
    run(module, qemu_argv(p, vm_dir, image))
    # qemu deletes its own PID file when it exits: keep a copy to find (and stop) this VM by PID.
    pid = int((vm_dir / "qemu.pid").read_text())
    (vm_dir / "pid").write_text(f"{pid}\n")
    (vm_dir / "vm.json").write_text(json.dumps({"spec": spec, "info": p["info"]}, indent=2) + "\n")
    module.exit_json(changed=True, starting=True, pid=pid, dir=str(vm_dir), fresh_disk=fresh_disk)


if __name__ == "__main__":
    main()
