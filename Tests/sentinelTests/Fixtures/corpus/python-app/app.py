"""A small shop API, as Python services are written: it reads its configuration, logs to a file,
keeps its orders in MariaDB (creating its table on first start, after asking information_schema
whether it is there, as migration tools do), and runs a helper program for reports."""
import http.server
import json
import logging
import os
import subprocess
import sys
import time
import urllib.parse

import pymysql

with open("/app/config.json") as file:
    config = json.load(file)

os.makedirs(os.path.dirname(config["log_file"]), exist_ok=True)
logging.basicConfig(filename=config["log_file"], level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("shop")


def connect():
    return pymysql.connect(host=config["database"]["host"], user=config["database"]["user"],
                           password=config["database"]["password"], database=config["database"]["name"],
                           connect_timeout=3, autocommit=True)


def migrate():
    """Creates the orders table unless it is there: the check ORMs and migration tools make."""
    with connect() as db, db.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
                       ("orders",))
        if cursor.fetchone()[0] == 0:
            cursor.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, product INT, quantity INT, "
                           "created TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
            log.info("created the orders table")


class Shop(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/healthz":
            return self.reply(200, {"ok": True})
        if url.path == "/products":
            with connect() as db, db.cursor() as cursor:
                cursor.execute("SELECT id, name, price FROM products WHERE category = %s ORDER BY name",
                               (query.get("category", ["tea"])[0],))
                rows = cursor.fetchall()
            return self.reply(200, [{"id": r[0], "name": r[1], "price": float(r[2])} for r in rows])
        if url.path == "/report":
            result = subprocess.run([sys.executable, "/app/helper.py", query.get("period", ["day"])[0]],
                                    capture_output=True, text=True, timeout=10)
            return self.reply(200, {"report": result.stdout.strip()})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        order = json.loads(self.rfile.read(length) or b"{}")
        with connect() as db, db.cursor() as cursor:
            cursor.execute("INSERT INTO orders (product, quantity) VALUES (%s, %s)",
                           (int(order.get("product", 1)), int(order.get("quantity", 1))))
            order_id = cursor.lastrowid
        log.info("order %s placed", order_id)
        self.reply(201, {"id": order_id})

    def log_message(self, format, *args):
        log.info("%s %s", self.address_string(), format % args)


for attempt in range(60):
    try:
        migrate()
        break
    except pymysql.err.MySQLError as error:
        log.info("database not ready (%s), retrying", error)
        time.sleep(1)

log.info("listening on port %d", config["port"])
http.server.ThreadingHTTPServer(("0.0.0.0", config["port"]), Shop).serve_forever()
