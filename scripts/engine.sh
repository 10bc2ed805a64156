#!/usr/bin/env bash
# Makes sure a local Docker engine answers; starts one when none runs.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"  # dockerd's place, which a user's PATH may not name
docker info >/dev/null 2>&1 && exit 0

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start docker 2>/dev/null || true
else
  # No init system here (containers, CI sandboxes): the distribution's init script
  # needs capabilities such hosts lack, so dockerd runs directly.
  log="${SWARMLAB_DOCKERD_LOG:-/var/log/swarmlab-dockerd.log}"
  echo "swarmlab: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "swarmlab: the Docker engine did not answer within 60 s; see ${log:-journalctl -u docker}" >&2
exit 1
