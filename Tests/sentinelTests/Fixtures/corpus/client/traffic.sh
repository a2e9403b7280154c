#!/bin/sh
# The corpus's users: a client container that browses the site, orders through the shop, reserves
# stock, asks tallyd to count, and runs the reporting queries an analyst's job runs, in rounds.
set -eu
site=http://169.254.78.10
rounds=${1:-10}
# Its network is plugged in once it has started: wait for the site, as clients wait for servers.
for _ in $(seq 150); do
    curl -fsS -o /dev/null "$site/healthz" 2>/dev/null && break
    sleep 0.2
done
for round in $(seq "$rounds"); do
    curl -fsS -o /dev/null "$site/"
    curl -fsS -o /dev/null "$site/style.css"
    curl -fsS -o /dev/null "$site/app.js"
    curl -fsS -o /dev/null "$site/api/stock"
    curl -fsS -o /dev/null "$site/api/stock?item=tea"
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"item":"tea"}' "$site/api/reserve"
    curl -fsS -o /dev/null "$site/shop/products?category=tea"
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"product\":2,\"quantity\":$round}" "$site/shop/orders"
    curl -fsS -o /dev/null "$site/shop/report?period=week"
    curl -fsS -o /dev/null --data-binary 'green tea and cocoa' http://169.254.78.15:7070/
    PGPASSWORD=inventory-secret psql -q -h 169.254.78.14 -U inventory -d inventory \
        -c "UPDATE items SET quantity = quantity - 1 WHERE sku = 'TEA-DJ'" \
        -c "SELECT sku, quantity FROM items ORDER BY sku" >/dev/null
    mariadb -h 169.254.78.11 -u shop -pshop-secret shop \
        -e "SELECT category, COUNT(*) AS products, AVG(price) AS price FROM products GROUP BY category" >/dev/null
    sleep 0.5
done
echo "traffic: $rounds rounds done"
