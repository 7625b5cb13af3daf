#!/usr/bin/env bash
# Create .venv and install the pinned CKAN stack, the test tools and this
# package (editable). Re-runs install only when a requirements file or
# pyproject.toml changed since the last successful install.
source "$(dirname "$0")/lib.sh"
command -v python3.11 >/dev/null || die "Python 3.11 is missing: install it (Debian: apt-get install python3.11 python3.11-venv)."
stamp="$VENV/.installed"
digest=$(cat "$ROOT/requirements.txt" "$ROOT/dev-requirements.txt" "$ROOT/pyproject.toml" "$ROOT/setup.py" | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x "$VENV/bin/ckan" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3.11 -m venv "$VENV" || die "could not create a virtualenv: apt-get install python3.11-venv"
fi
say "installing requirements into $VENV (log: $RUN_DIR/install.log)"
{
  "$VENV/bin/pip" install --disable-pip-version-check --upgrade "pip==26.3" "setuptools==84.2.1" wheel
  "$VENV/bin/pip" install --disable-pip-version-check -r "$ROOT/dev-requirements.txt"
  "$VENV/bin/pip" install --disable-pip-version-check --no-deps -e "$ROOT"
} >"$RUN_DIR/install.log" 2>&1 || { tail -n 40 "$RUN_DIR/install.log"; die "installation failed (full log: $RUN_DIR/install.log)"; }
echo "$digest" >"$stamp"
say "installed"
