# Shared by scripts/demo and scripts/test: create or update .venv and install the project.
# Usage: . scripts/_setup.sh
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
STAMP=".venv/.installed"
if [ ! -f "$STAMP" ] || [ requirements.lock -nt "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "Cài đặt sheets-sync vào .venv…"
  PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
  # Exact versions with hashes (scripts/lock writes the file), then the project itself without
  # resolving again: the product, plus the development tools kept out of the product wheel
  # (the Google emulator for tests, benchmarks and offline demos; the demo district generator).
  "${PIP[@]}" --require-hashes --no-deps -r requirements.lock
  "${PIP[@]}" --no-deps --no-build-isolation -e . -e tools/emulator -e tools/demo
  touch "$STAMP"
fi
