#!/usr/bin/env bash
# Install the Autobahn TestSuite (wstest) into tests/autobahn/.venv.
#
# wstest is Python 2 code, so it runs on a CPython 2.7 interpreter inside a
# virtualenv. The virtualenv tool itself is installed with Python 3 into
# tests/autobahn/.pydeps (a plain pip --target directory). Both directories
# are gitignored and can be deleted at any time; this script rebuilds them.
#
# Idempotent: an existing venv whose wstest imports and runs is reused.
#
# Environment overrides:
#   PYTHON27  path to a python2.7 interpreter (default: pyenv's 2.7.18)
#   PYTHON3   python3 used to install virtualenv (default: python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYDEPS="$HERE/.pydeps"
PYTHON3="${PYTHON3:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_NO_PYTHON_VERSION_WARNING=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONDONTWRITEBYTECODE=1

# Exact pins known to work together on CPython 2.7.
PINS=(
  attrs==21.4.0
  autobahn==0.10.9
  autobahntestsuite==25.10.1
  Automat==22.10.0
  cffi==1.15.1
  constantly==15.1.0
  cryptography==3.3.2
  enum34==1.1.10
  hyperlink==21.0.0
  idna==2.10
  incremental==16.10.1
  ipaddress==1.0.23
  Jinja2==2.11.3
  klein==17.10.0
  linecache2==1.0.0
  MarkupSafe==1.1.1
  pyasn1==0.5.1
  pyasn1-modules==0.3.0
  pycparser==2.21
  PyHamcrest==1.10.1
  pyOpenSSL==19.1.0
  service-identity==18.1.0
  six==1.16.0
  traceback2==1.4.0
  Twisted==19.10.0
  txaio==2.1.0
  typing==3.10.0.0
  ujson==2.0.3
  unittest2==1.1.0
  Werkzeug==1.0.1
  wsaccel==0.6.6
  zope.interface==4.6.0
)

log() { printf 'autobahn install: %s\n' "$*"; }
die() { printf 'autobahn install: ERROR: %s\n' "$*" >&2; exit 1; }

wstest_works() {
  [ -x "$VENV/bin/wstest" ] && [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" -c 'import autobahntestsuite, autobahn, twisted' >/dev/null 2>&1 || return 1
  "$VENV/bin/wstest" --help >/dev/null 2>&1 || return 1
}

print_version() {
  local v
  v="$("$VENV/bin/wstest" -a 2>/dev/null | tr '\n' ' ' || true)"
  log "wstest ready: $VENV/bin/wstest (${v% })"
}

find_python27() {
  local cand root
  if [ -n "${PYTHON27:-}" ]; then
    printf '%s\n' "$PYTHON27"
    return 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null || true)"
    if [ -n "$root" ]; then
      cand="$root/versions/2.7.18/bin/python2.7"
      if [ -x "$cand" ]; then printf '%s\n' "$cand"; return 0; fi
    fi
  fi
  for cand in "${PYENV_ROOT:-}/versions/2.7.18/bin/python2.7" \
              "$HOME/.pyenv/versions/2.7.18/bin/python2.7"; do
    if [ -x "$cand" ]; then printf '%s\n' "$cand"; return 0; fi
  done
  return 1
}

# Two run.sh started side by side (CI does) both call this script: one
# installs while the other waits, then reuses that venv (rather than
# deleting it half-built). The lock is held on this file until exit.
if command -v flock >/dev/null 2>&1; then
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
fi

if wstest_works; then
  log "reusing existing venv at $VENV"
  print_version
  exit 0
fi

PY27="$(find_python27)" || die "python2.7 not found. wstest needs CPython 2.7; expected \$(pyenv root)/versions/2.7.18/bin/python2.7 or ~/.pyenv/versions/2.7.18/bin/python2.7 (or set PYTHON27=/path/to/python2.7)"
"$PY27" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null \
  || die "$PY27 is not a working Python 2.7 interpreter"
command -v "$PYTHON3" >/dev/null 2>&1 || die "python3 not found (needed to install virtualenv)"
log "using Python 2.7 at $PY27"

# A half-built venv from an interrupted run is not worth repairing.
if [ -e "$VENV" ]; then
  log "existing venv at $VENV does not work; recreating it"
  rm -rf "$VENV"
fi

if ! PYTHONPATH="$PYDEPS" "$PYTHON3" -c 'import virtualenv' >/dev/null 2>&1; then
  log "installing virtualenv<20.22 into $PYDEPS"
  rm -rf "$PYDEPS"
  "$PYTHON3" -m pip install --disable-pip-version-check --no-input -q \
    --target "$PYDEPS" 'virtualenv<20.22'
fi

log "creating venv at $VENV"
PYTHONPATH="$PYDEPS" "$PYTHON3" -m virtualenv -q -p "$PY27" "$VENV"

log "installing autobahntestsuite and pinned dependencies (about half a minute)"
"$VENV/bin/pip" install --disable-pip-version-check --no-input -q "${PINS[@]}"

wstest_works || die "wstest was installed but '$VENV/bin/wstest --help' fails"
print_version
