#!/bin/sh
# Copy the broker logins the gateway wrote ($AUTH_DIR/passwd, acl) to where Mosquitto
# reads them ($LIVE_DIR), owned by $OWNER and readable by it alone. A missing file becomes
# an empty one: Mosquitto then starts, and nobody may log in until the gateway writes.
set -eu
AUTH_DIR=${AUTH_DIR:-/var/lib/smartoffice/broker}
LIVE_DIR=${LIVE_DIR:-/etc/mosquitto/smartoffice}
OWNER=${OWNER:-mosquitto}
mkdir -p "$LIVE_DIR"
for f in passwd acl; do
    if [ -f "$AUTH_DIR/$f" ]; then
        cp "$AUTH_DIR/$f" "$LIVE_DIR/$f.tmp"
    else
        : > "$LIVE_DIR/$f.tmp"
    fi
    if [ "$(id -u)" = 0 ]; then chown "$OWNER" "$LIVE_DIR/$f.tmp"; fi
    chmod 600 "$LIVE_DIR/$f.tmp"
    mv "$LIVE_DIR/$f.tmp" "$LIVE_DIR/$f"
done
