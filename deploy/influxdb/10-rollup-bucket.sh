#!/bin/sh
# Runs once, right after InfluxDB 2.x's first setup (docker-entrypoint-initdb.d).
# Raw readings live in the setup bucket, which expires them after its retention
# (DOCKER_INFLUXDB_INIT_RETENTION); hourly rollups get a bucket of their own that keeps
# them forever. Over the v1 API the server reaches it as the same database with the
# retention policy "rollup" (SMARTOFFICE_INFLUX_ROLLUP_RETENTION_POLICY=rollup).
set -eu
org="$DOCKER_INFLUXDB_INIT_ORG"
bucket="${DOCKER_INFLUXDB_INIT_BUCKET}-rollup"
influx bucket create --org "$org" --name "$bucket" --retention 0
id=$(influx bucket list --org "$org" --name "$bucket" --hide-headers | cut -f1)
influx v1 dbrp create --org "$org" --db "$DOCKER_INFLUXDB_INIT_BUCKET" --rp rollup \
    --bucket-id "$id"
