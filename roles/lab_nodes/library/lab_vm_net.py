#!/usr/bin/python
"""The lab's host-only network for VMs: a Linux bridge with this host's address, a tap per VM."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_vm_net
short_description: Create or remove a host-only network (bridge + taps), as VirtualBox's host-only adapter
description:
  - C(present) makes the bridge with this host's address on it and the listed taps attached to it, all up;
    interfaces on the bridge that are not listed are removed (taps of VMs that left the lab).
  - C(absent) removes the listed taps and the bridge.
options:
  bridge: {description: Bridge name (15 characters at most)., type: str, required: true}
  address: {description: This host's address on the bridge (CIDR)., type: str}
  taps: {description: Tap interfaces, one per VM., type: list, elements: str, default: []}
  state: {description: Wanted state., type: str, choices: [present, absent], default: present}
"""

import json

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            bridge=dict(type="str", required=True),
            address=dict(type="str"),
            taps=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["address"])],
        supports_check_mode=True,
    )
    p = module.params
    for name in [p["bridge"], *p["taps"]]:
        if len(name) > 15:
            module.fail_json(msg=f"interface name {name!r} is longer than 15 characters")

    def ip(*args: str, read: bool = False) -> list:
        if not read and module.check_mode:
            return []
        rc, out, err = module.run_command(["ip", *(["-j"] if read else []), *args])
        if rc != 0:
            hint = " (creating bridges and taps needs root, or CAP_NET_ADMIN)" if "permitted" in err else ""
            module.fail_json(msg=f"ip {' '.join(args)}: {err.strip()}{hint}")
        return json.loads(out or "[]") if read else []

    links = {link["ifname"]: link for link in ip("link", "show", read=True)}
    changed = False
    if p["state"] == "absent":
        for name in [*p["taps"], *[n for n, link in links.items() if link.get("master") == p["bridge"]], p["bridge"]]:
            if name in links:
                ip("link", "del", name)
                links.pop(name)
                changed = True
        module.exit_json(changed=changed)

    br = p["bridge"]
    if br not in links:
        ip("link", "add", br, "type", "bridge")
        changed = True
    addrs = [] if br not in links else ip("addr", "show", "dev", br, read=True)
    have = {f"{a['local']}/{a['prefixlen']}" for x in addrs for a in x.get("addr_info", []) if a.get("family") == "inet"}
    if p["address"] not in have:
        ip("addr", "add", p["address"], "dev", br)
        changed = True
    if "UP" not in links.get(br, {}).get("flags", []):
        ip("link", "set", br, "up")
        changed = True
    for tap in p["taps"]:
        link = links.get(tap)
        if link is None:
            ip("tuntap", "add", tap, "mode", "tap")
            changed = True
        if link is None or link.get("master") != br or "UP" not in link.get("flags", []):
            ip("link", "set", tap, "master", br, "up")
            changed = True
    for name, link in links.items():
        if link.get("master") == br and name not in p["taps"]:
            ip("link", "del", name)
            changed = True
    module.exit_json(changed=changed)


if __name__ == "__main__":
    main()
