#!/usr/bin/env bash
# Create .venv and install the pinned CKAN stack, the test tools and this
# package (editable). Re-runs install only when a requirements file or
# pyproject.toml changed since the last successful install.
source "$(dirname "$0")/lib.sh"
command -v python3.11 >/dev/null || die "Python 3.11 is missing: install it (Debian: apt-get install python3.11 python3.11-venv)."

# Browser tests (tests/browser) drive Debian's Chromium
# and inject axe-core from node_modules; test tools never download a browser.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    ( apt_install "the browser tests' Chromium" chromium ) || say "chromium could not be installed: browser tests will be skipped"
  else
    say "/usr/bin/chromium is missing: browser tests will be skipped. Install it as root with: apt-get install chromium"
  fi
fi
npm_stamp="$ROOT/node_modules/.installed-lock"
if [ ! -f "$ROOT/node_modules/axe-core/axe.min.js" ] || ! cmp -s "$ROOT/package-lock.json" "$npm_stamp"; then
  if command -v npm >/dev/null; then
    say "installing the pinned test tools of package-lock.json (axe-core) into node_modules"
    (cd "$ROOT" && npm ci --no-audit --no-fund >"$RUN_DIR/npm-install.log" 2>&1 && cp package-lock.json "$npm_stamp") \
      || say "npm ci failed (log: $RUN_DIR/npm-install.log): accessibility tests will be skipped"
  else
    say "npm is missing: accessibility tests will be skipped. Install it with: apt-get install npm"
  fi
fi
stamp="$VENV/.installed"
requirements="$ROOT/requirements/dev-$CKAN.txt"
digest=$(cat "$ROOT"/requirements/*.txt "$ROOT/pyproject.toml" "$ROOT/setup.py" | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x "$VENV/bin/ckan" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3.11 -m venv "$VENV" || die "could not create a virtualenv: apt-get install python3.11-venv"
fi
log="$RUN_DIR/install-ckan$CKAN.log"
say "installing the CKAN $CKAN stack (requirements/dev-$CKAN.txt) into $VENV (log: $log)"
{
  "$VENV/bin/pip" install --disable-pip-version-check --upgrade "pip==26.3" "setuptools==84.2.1" wheel
  "$VENV/bin/pip" install --disable-pip-version-check -r "$requirements"
  "$VENV/bin/pip" install --disable-pip-version-check --no-deps -e "$ROOT"
} >"$log" 2>&1 || { tail -n 40 "$log"; die "installation failed (full log: $log)"; }
echo "$digest" >"$stamp"
say "installed"
