# Shared set-up for scripts/run, scripts/test and scripts/bench (sourced, not run).
# Creates .venv and installs the pinned requirements only when they changed since last time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

ensure_venv() {  # $1: requirements file
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "setting up .venv (first run)..." >&2
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  local stamp=".venv/.installed-$(basename "$requirements" .txt)"
  local digest
  digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "installing $requirements into .venv..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" > "$stamp"
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
}
