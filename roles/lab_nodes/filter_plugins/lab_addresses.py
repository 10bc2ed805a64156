"""The container driver's addresses: each container of the lab keeps the address it has on the lab network.

A node's engine keeps its swarm state (the address it advertises, its managers' addresses) in a volume that
outlives the container; an address handed out in start order moves when a container is re-made (another
image, other ports) and the swarm can no longer reach its leader. Fixed addresses, as a VM keeps its lease.
"""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def lab_addresses(names, subnet, containers, network):
    """{container name: address}: a running container's own address, else the lowest one no other takes.

    containers: docker_host_info's verbose container list (Names, NetworkSettings). The subnet's first host
    is left out (the bridge's gateway).
    """
    net = ipaddress.ip_network(subnet, strict=False)
    now = {}
    for container in containers or []:
        address = ((container.get("NetworkSettings") or {}).get("Networks") or {}).get(network, {}).get("IPAddress")
        if address and ipaddress.ip_address(address) in net:
            for name in container.get("Names") or []:
                now[name.lstrip("/")] = address
    taken = set(now.values())
    out = {name: now[name] for name in names if name in now}
    hosts = net.hosts()
    next(hosts, None)
    free = (str(host) for host in hosts if str(host) not in taken)
    for name in names:
        if name not in out:
            address = next(free, None)
            if address is None:
                raise AnsibleFilterError(f"the lab network {subnet} has no address left for {name}: choose a larger lab_nodes_subnet")
            out[name] = address
    return out


class FilterModule:
    def filters(self):
        return {"lab_addresses": lab_addresses}
