#!/usr/bin/env bash
# Install the front-end libraries the server serves itself (package.json: Swagger UI and
# ReDoc for /docs, axe-core for the browser tests) from npm, with Node.js and npm from the
# OS packages when they are missing. Nothing runs from the packages' install scripts.
set -euo pipefail
if ! command -v npm >/dev/null; then
    echo "installing from the OS packages: nodejs npm"
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "error: need root (or sudo) to install nodejs and npm" >&2; exit 1
    fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
