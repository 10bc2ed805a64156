#!/usr/bin/env bash
# The walkthrough as a plain shell script, timed phase by phase: the baseline swarmlab is measured against.
# Same node image and options as the lab, same packages and images, same service; no Ansible.
#   bench/baseline.sh NODES   (prints one JSON object: seconds per phase, and under "cpu" the machine's busy CPU
#   seconds per phase)
#   bench/baseline.sh NODES ready   (the ready-made lab's floor: nodes from the ready-made image, whose engine and
#   images are in place, then swarm init/join and the nginx exercise published as the lab publishes it where nodes
#   lack IPVS: WEB by DNS round-robin on an overlay network, a global haproxy service binding port 85 on every node)
set -euo pipefail
n=${1:-3}
mode=${2:-cold}
lab=bench-baseline
subnet=${BASELINE_SUBNET:-172.30.50.0/24}
image=swarmlab/node:bookworm
[ "$mode" = ready ] && image=swarmlab/node:bookworm-ready
old=swarmlab/nginx:1.12.1
new=swarmlab/nginx:1.13.5
nodes=()
for i in $(seq 1 "$n"); do nodes+=("$lab-node$i"); done
declare -A took cpu
hz=$(getconf CLK_TCK)

now() { echo "$EPOCHREALTIME"; }
busy() { # the machine's busy CPU time so far, in ticks (user, nice, system, irq, softirq; all cores, every process)
  local _ u n s i w q sq _rest
  read -r _ u n s i w q sq _rest < /proc/stat
  echo $((u + n + s + q + sq))
}
phase() { # phase NAME COMMAND...: run and record the seconds it took, and the CPU seconds the machine was busy
  local name=$1 t0 b0; shift
  t0=$(now) b0=$(busy)
  "$@"
  took[$name]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  cpu[$name]=$(awk -v a="$b0" -v b="$(busy)" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
}
inside() { docker exec "$@"; }
parallel() { # parallel FUNCTION: run it for every node at once, fail if any fails
  local pids=() node
  for node in "${nodes[@]}"; do "$1" "$node" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
cleanup() {
  docker rm -f "${nodes[@]}" >/dev/null 2>&1 || true
  for node in "${nodes[@]}"; do docker volume rm -f "$node-docker" >/dev/null 2>&1 || true; done
  docker network rm "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# docker-machine create: privileged where the engine allows it, else the lab's capability set.
if docker run --rm --privileged "$image" true >/dev/null 2>&1; then
  run_opts=(--privileged)
else
  run_opts=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined)
fi
if [ "$(docker info --format '{{.CgroupVersion}}')" = 2 ]; then
  run_opts+=(--cgroupns private)
else
  run_opts+=(--cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
fi
start_node() {
  docker run -d --name "$1" --hostname "${1#"$lab"-}" --network "$lab" "${run_opts[@]}" \
    --tmpfs /run --tmpfs /run/lock -v "$1-docker:/var/lib/docker" -e container=docker "$image" >/dev/null
  local i state
  for i in $(seq 1 600); do  # systemd's bus appears a moment after the container starts
    state=$(inside "$1" systemctl is-system-running --wait 2>/dev/null) || true
    case $state in running|degraded) return 0 ;; esac
    sleep 0.2
  done
  echo "$1 did not boot" >&2
  return 1
}
nodes_up() { docker network create --subnet "$subnet" "$lab" >/dev/null; parallel start_node; }

# apt-get install docker.io on every node at once, then start it.
install_engine() {
  inside "$1" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null \
    && systemctl start docker && docker info >/dev/null'
}
load_images() { docker save "$old" "$new" | docker exec -i "$1" docker load -q >/dev/null; }

swarm() {
  local ip token node
  ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$lab\").IPAddress}}" "${nodes[0]}")
  inside "${nodes[0]}" docker swarm init --advertise-addr "$ip" >/dev/null
  token=$(inside "${nodes[0]}" docker swarm join-token -q worker)
  for node in "${nodes[@]:1}"; do inside "$node" docker swarm join --token "$token" "$ip:2377" >/dev/null & done
  wait
}

# No IPVS here: published in host mode, one replica per node (what ingress would serve on every node).
service() {
  inside "${nodes[0]}" docker service create -q --no-resolve-image --name WEB --replicas 3 --replicas-max-per-node 1 \
    --publish mode=host,published=85,target=80 --update-parallelism 1 --update-delay 2s --update-monitor 5s "$old" >/dev/null
}
check() {
  local node ip
  for node in "${nodes[@]}"; do
    ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$lab\").IPAddress}}" "$node")
    if inside "${nodes[0]}" docker service ps -q -f desired-state=running -f node="${node#"$lab"-}" WEB | grep -q .; then
      curl -fsS "http://$ip:85/" | grep -q "swarmlab nginx" || { echo "no page from $node" >&2; return 1; }
    fi
  done
}
# The ready-made lab's publishing (swarm_services' proxy mode): the same haproxy settings as its template.
proxied_service() {
  local m=${nodes[0]}
  inside "$m" docker network create -d overlay swarmlab-proxy >/dev/null
  cat <<'CFG' | docker exec -i "$m" docker config create WEB-proxy_v1 - >/dev/null
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 1s
    timeout client 1m
    timeout server 1m
    retries 3
    option redispatch
    default-server check inter 1s fall 1 rise 1 resolvers swarm init-addr libc,none resolve-prefer ipv4
resolvers swarm
    nameserver docker 127.0.0.11:53
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 1s
    hold obsolete 1s
frontend port_85_tcp
    bind :85
    default_backend tasks_85_tcp
backend tasks_85_tcp
    balance roundrobin
    server-template task 16 tasks.WEB:80
CFG
  inside "$m" docker service create -q --no-resolve-image --name WEB --replicas 3 --endpoint-mode dnsrr --network swarmlab-proxy \
    --update-parallelism 1 --update-delay 2s --update-monitor 5s "$old" >/dev/null
  inside "$m" docker service create -q --no-resolve-image --name WEB-proxy --mode global --network swarmlab-proxy \
    --publish mode=host,published=85,target=85 --config source=WEB-proxy_v1,target=/usr/local/etc/haproxy/haproxy.cfg \
    swarmlab/haproxy:2.6 >/dev/null
}
every_page() { # the page from every node, as the lab's checks ask for it
  local node ip
  for node in "${nodes[@]}"; do
    ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$lab\").IPAddress}}" "$node")
    curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "http://$ip:85/" | grep -q "swarmlab nginx" || { echo "no page from $node" >&2; return 1; }
  done
}
engine_up() { # the ready-made node's engine, started by its boot from the seeded store
  local i
  for i in $(seq 1 300); do inside "$1" docker info >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$1: no engine" >&2
  return 1
}

report() { # report PHASE...: one JSON object, seconds per phase and the busy CPU seconds under "cpu"
  local k sep=''
  printf '{"node_count": %s, "mode": "%s"' "$n" "$mode"
  for k in "$@"; do printf ', "%s": %.2f' "$k" "${took[$k]}"; done
  printf ', "cpu": {'
  for k in "$@"; do printf '%s"%s": %.2f' "$sep" "$k" "${cpu[$k]}"; sep=', '; done
  printf '}}\n'
}

update() { inside "${nodes[0]}" docker service update -q --no-resolve-image --image "$new" WEB >/dev/null; }
rollback() { inside "${nodes[0]}" docker service update -q --rollback WEB >/dev/null; }

if [ "$mode" = ready ]; then
  ready_nodes() { nodes_up && parallel engine_up; }
  phase nodes ready_nodes
  phase swarm swarm
  phase services proxied_service
  phase checks every_page
  report nodes swarm services checks
  exit 0
fi

phase nodes nodes_up
phase engines parallel install_engine
phase images parallel load_images
phase swarm swarm
phase services service
phase checks check
phase update update
phase rollback rollback

report nodes engines images swarm services checks update rollback
