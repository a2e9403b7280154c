#!/bin/sh
# PostgreSQL's entrypoint, as its images have it: on first start, initdb as the postgres user,
# open the server to the network with passwords, run the init scripts on a server that listens on
# its socket only, stop it, then exec the server as the container's main process.
set -eu
bin=/usr/lib/postgresql/15/bin
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
export PGDATA=/var/lib/postgresql/data
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "initialising the data directory"
    $as_postgres "$bin/initdb" --username=postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all 169.254.78.0/24 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    $as_postgres "$bin/pg_ctl" -o "-c listen_addresses=''" -w start >/dev/null
    $as_postgres psql -q -v ON_ERROR_STOP=1 --username=postgres -f /docker-entrypoint-initdb.d/inventory.sql
    $as_postgres "$bin/pg_ctl" -m fast -w stop >/dev/null
fi
exec $as_postgres "$bin/postgres"
