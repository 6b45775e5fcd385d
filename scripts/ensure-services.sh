#!/usr/bin/env bash
# Install Mosquitto, InfluxDB 1.x, PostgreSQL, Chromium (for the browser tests) and
# promtool (the alert rules' tests) from the OS packages when they are missing. The tests
# start private instances of each on free ports; nothing here starts a service.
set -euo pipefail
missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
command -v influxd >/dev/null || missing+=(influxdb)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)  # promtool: the alert rules' tests
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing from the OS packages: ${missing[*]}"
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
fi
$SUDO apt-get update -qq
# policy-rc.d keeps the packages from starting system-wide daemons on machines with init
# scripts; the tests never use those.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
