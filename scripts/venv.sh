# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: the checkout's virtualenv (.venv) and the project
# installed into it at the tested versions of constraints.txt, re-installed only when
# pyproject.toml or constraints.txt changes (stamp file inside .venv).
# The functions may run in a condition (where `set -e` does not apply), so they return explicitly.

VENV="${VENV:-$ROOT/.venv}"
INSTALL_STAMP="$VENV/.guanlian-install"

# A Python >= 3.11 interpreter: $PYTHON, else python3.11, else python3 when recent enough.
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer not found (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

ensure_venv() {
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    return 0
  fi
  local python
  python="$(find_python)" || return 1
  echo "creating $VENV with $python"
  rm -rf "$VENV"
  "$python" -m venv "$VENV" || return 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip || return 1
}

pyproject_hash() {
  cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1
}

# ensure_installed [EXTRA]: `pip install -c constraints.txt -e .[EXTRA]` unless the stamp says
# this pyproject.toml and constraints.txt were already installed with that extra (a dev
# install also satisfies a plain one).
ensure_installed() {
  local extra="${1:-}" hash stamp_hash="" stamp_extra=""
  hash="$(pyproject_hash)"
  if [[ -f "$INSTALL_STAMP" ]]; then
    read -r stamp_hash stamp_extra <"$INSTALL_STAMP" || true
  fi
  if [[ "$stamp_hash" == "$hash" && ( -z "$extra" || "$stamp_extra" == "$extra" ) ]]; then
    echo "project already installed for this pyproject.toml (${stamp_extra:-base})"
    return 0
  fi
  local target="$ROOT"
  [[ -n "$extra" ]] && target="${ROOT}[${extra}]"
  echo "installing $target into $VENV"
  (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --progress-bar off -c "$ROOT/constraints.txt" -e "$target") || return 1
  # Keep a dev stamp when a later plain install runs on an unchanged pyproject.toml.
  if [[ -z "$extra" && "$stamp_hash" == "$hash" ]]; then
    extra="$stamp_extra"
  fi
  printf '%s %s\n' "$hash" "${extra:-base}" >"$INSTALL_STAMP"
}
