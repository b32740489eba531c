# Shared by scripts/demo and scripts/test: create or update .venv and install the project.
# Usage: . scripts/_setup.sh [extras]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Cần Python 3.11 trở lên (đặt biến PYTHON=đường-dẫn-python nếu có nhiều bản)." >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "Tạo môi trường ảo .venv…"
  "$PY" -m venv .venv
fi
EXTRAS="${1:-}"
STAMP=".venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ tools/emulator/pyproject.toml -nt "$STAMP" ] || [ tools/demo/pyproject.toml -nt "$STAMP" ]; then
  echo "Cài đặt sheets-sync${EXTRAS:+ [$EXTRAS]} vào .venv…"
  # The product, plus the development tools kept out of the product wheel: the Google emulator
  # (tests, benchmarks, offline demos) and the demo district generator.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" \
    -e tools/emulator -e tools/demo
  touch "$STAMP"
fi
