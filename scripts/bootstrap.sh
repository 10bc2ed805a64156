#!/usr/bin/env bash
# Installs what swarmlab needs on a Debian/Ubuntu machine: host packages and the Python venv.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SWARMLAB_VENV:-$ROOT/.venv}"

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v gpg >/dev/null 2>&1 || need_pkgs+=(gnupg)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# The vm lab driver: qemu (TCG where KVM cannot boot a guest) and qemu-img for the VMs' disks.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need_pkgs+=(qemu-utils)
# The browser that tests `swarmlab ui` (Playwright drives it; it downloads no browser of its own).
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "swarmlab: missing host packages: ${need_pkgs[*]} (run as root, or: sudo apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
  echo "swarmlab: installing host packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  for try in 1 2 3; do
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null && break
    [ "$try" = 3 ] && { echo "swarmlab: apt-get install failed" >&2; exit 1; }
    sleep 5
  done
fi

# The venv is rebuilt only when the dependency pins change.
stamp="$VENV/.swarmlab-deps"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "swarmlab: installing the Python environment in $VENV"
  python3 -m venv "$VENV"
  # (Some machines' pip config names local indexes that do not exist: drop those warnings.)
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[test]" 2>&1 \
    | { grep -v '^WARNING: Location .* is ignored' || true; }
  echo "$want" > "$stamp"
fi
