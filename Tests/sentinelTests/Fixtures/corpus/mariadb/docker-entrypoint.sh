#!/bin/sh
# The database's entrypoint, as database images have it: on first start, make the data directory,
# start a server on a socket only to create the application's database and account, stop it,
# then run the server in the foreground as the container's main process.
set -eu
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
    echo "initialising the data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    server=$!
    for _ in $(seq 30); do
        mariadb-admin --socket=/run/mysqld/init.sock ping --silent && break
        sleep 1
    done
    mariadb --socket=/run/mysqld/init.sock </docker-entrypoint-initdb.d/shop.sql
    kill "$server"
    wait "$server" || true
fi
exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 --skip-name-resolve
