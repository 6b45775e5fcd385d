#!/bin/sh
# Runs once, after 10-rollup-bucket.sh, at InfluxDB 2.x's first setup.
# Grafana reads the readings and rollups with a login that may only read those two buckets
# (a v1 authorization: Grafana's InfluxQL data source sends it as user and password). The
# admin token never leaves the server and InfluxDB.
set -eu
org="$DOCKER_INFLUXDB_INIT_ORG"
raw="$DOCKER_INFLUXDB_INIT_BUCKET"
bucket_id() {
    influx bucket list --org "$org" --name "$1" --hide-headers | cut -f1
}
influx v1 auth create --org "$org" --username grafana \
    --password "$GRAFANA_INFLUXDB_PASSWORD" \
    --read-bucket "$(bucket_id "$raw")" --read-bucket "$(bucket_id "$raw-rollup")" \
    --description "Grafana: read readings and rollups"
