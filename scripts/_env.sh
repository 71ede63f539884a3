# Shared by scripts/run and scripts/test: make .venv and install the pinned dependencies.
# Usage: source scripts/_env.sh [dev]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "OneWindow needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
# System package: Noto CJK, the Chinese font embedded in e-license PDFs (Debian fonts-noto-cjk).
if [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing fonts-noto-cjk (the Chinese font of e-license PDFs)"
    apt-get install -y -q fonts-noto-cjk >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-noto-cjk >/dev/null; }
  else
    echo "!! fonts-noto-cjk is missing and cannot be installed here (not root or no apt-get):" >&2
    echo "!! e-license PDFs need it: apt-get install fonts-noto-cjk" >&2
  fi
fi
extra="${1:-}"
target="."
[ "$extra" = "dev" ] && target=".[dev]"
# Reinstall only when the declared dependencies change.
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-${extra:-run}"
if [ ! -f "$stamp" ]; then
  echo "==> installing OneWindow ${extra:+with $extra tools }(pinned by constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v -i warning || true
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$target" 2>&1 \
    | grep -v -E "^WARNING: Location .* is ignored" || true
  .venv/bin/python -c "import onewindow, django, granian" \
    || { echo "installation failed" >&2; exit 1; }
  rm -f .venv/.installed-*-"${extra:-run}"
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
