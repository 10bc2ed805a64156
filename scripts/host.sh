#!/usr/bin/env bash
# The host packages swarmlab's lab needs on a Debian/Ubuntu machine, installed when missing (root), else named.
# scripts/bootstrap.sh runs it for a clone; `swarmlab setup` for an installed swarmlab (the wheel carries it).
# Safe to run again: nothing is installed that is there already.
set -euo pipefail
# dockerd and debootstrap live in sbin, which a user's PATH may not name.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

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
