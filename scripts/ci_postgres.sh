#!/usr/bin/env bash
# Start a real PostgreSQL server for the study tests (Debian's postgresql package) and print the
# SQLAlchemy URL of a fresh test database. Used by .ci/run; safe to run again.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null
fi
read -r version cluster < <(pg_lsclusters -h | awk 'NR==1 {print $1, $2}')
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  cluster=main
  pg_createcluster "$version" "$cluster" >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $3}')
su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dyadbench') THEN
    CREATE ROLE dyadbench LOGIN PASSWORD 'dyadbench' CREATEDB;
  END IF;
END \$\$;
DROP DATABASE IF EXISTS dyadbench_test;
CREATE DATABASE dyadbench_test OWNER dyadbench;
SQL
echo "postgresql+psycopg://dyadbench:dyadbench@127.0.0.1:${port}/dyadbench_test"
