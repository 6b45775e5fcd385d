#!/usr/bin/env bash
# Create .venv with the project installed. Needs Python 3.11+ with venv (Debian: python3-venv).
set -euo pipefail
PY=${PY:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $PY is older than 3.11 (or missing); install Python 3.11+ and retry," \
         "or run: make PY=python3.12 ..." >&2
    exit 1
fi
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    else
        echo "error: Python's venv module is missing: ask an admin to run" \
             "'apt-get install python3-venv', then retry." >&2
        exit 1
    fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
