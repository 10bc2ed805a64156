#!/usr/bin/env bash
# Installs what swarmlab needs on a Debian/Ubuntu machine: host packages and the Python venv.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SWARMLAB_VENV:-$ROOT/.venv}"

"$ROOT/scripts/host.sh"

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
