# Shared by scripts/serve and scripts/manage (sourced, not run): refuse to go on unless .venv is a
# complete install of requirements.txt. Never installs anything (scripts/install does).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

require_installed() {
  if [ ! -x .venv/bin/python ]; then
    echo "casework is not installed here ($ROOT/.venv is missing): run scripts/install first." >&2
    echo "(scripts/serve never installs: it must start on a read-only install, without network.)" >&2
    exit 1
  fi
  if ! .venv/bin/python scripts/check_venv.py requirements.txt; then
    echo "run scripts/install to complete it (scripts/serve never installs)." >&2
    exit 1
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
  export FLASK_APP=wsgi
}
