#!/bin/sh
# Mosquitto for a building whose gateway manages the logins.
#
# The gateway writes the password and ACL files (from the server's registry) into
# $AUTH_DIR. This script copies them to where Mosquitto reads them, readable by Mosquitto
# alone, and sends Mosquitto SIGHUP whenever the gateway changes them, so a registered
# device can log in and a decommissioned one cannot, without a restart.
set -eu
AUTH_DIR=${AUTH_DIR:-/mosquitto/auth}
LIVE_DIR=${LIVE_DIR:-/mosquitto/live}
CONF=${CONF:-/mosquitto/config/mosquitto.conf}
POLL_S=${POLL_S:-2}
OWNER=${OWNER:-mosquitto}

mkdir -p "$LIVE_DIR"
publish() {
    for f in passwd acl; do
        if [ -f "$AUTH_DIR/$f" ]; then
            cp "$AUTH_DIR/$f" "$LIVE_DIR/$f.tmp"
        else
            : > "$LIVE_DIR/$f.tmp"  # no gateway yet: nobody may log in
        fi
        if [ "$(id -u)" = 0 ]; then chown "$OWNER" "$LIVE_DIR/$f.tmp"; fi
        chmod 600 "$LIVE_DIR/$f.tmp"
        mv "$LIVE_DIR/$f.tmp" "$LIVE_DIR/$f"
    done
}
stamp() {
    cat "$AUTH_DIR/passwd" "$AUTH_DIR/acl" 2>/dev/null | cksum
}

publish
seen=$(stamp)
mosquitto -c "$CONF" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT
while kill -0 "$pid" 2>/dev/null; do
    sleep "$POLL_S" &
    wait $! || true
    now=$(stamp)
    if [ "$now" != "$seen" ]; then
        publish
        kill -HUP "$pid"
        seen=$now
    fi
done
wait "$pid"
