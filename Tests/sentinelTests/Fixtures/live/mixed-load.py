"""A mixed database load, as several kinds of client make it at steady rates: point reads,
read-write transactions, range reads, short connections (one query each, as a PHP page makes),
and a health check by docker exec. Used by the live BoSC test.

    python3 mixed-load.py HOST CONTAINER setup
    python3 mixed-load.py HOST CONTAINER run SECONDS
"""
import random
import subprocess
import sys
import threading
import time

import pymysql

host, container, mode = sys.argv[1], sys.argv[2], sys.argv[3]


def connect():
    return pymysql.connect(host=host, port=3306, user="shopper", password="shopper", database="shop", autocommit=True,
                           connect_timeout=5, read_timeout=5, write_timeout=5)


if mode == "setup":
    connection = connect()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL)")
        cursor.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item INT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
        cursor.executemany("INSERT INTO items VALUES (%s, %s, %s)", [(i, i % 97, f"item {i}") for i in range(1, 1001)])
    sys.exit(0)

end = time.monotonic() + float(sys.argv[4])


def paced(rate, step):
    """Calls step() `rate` times a second until the end."""
    pick = random.Random(rate)
    next_at = time.monotonic()
    while next_at < end:
        step(pick)
        next_at += 1 / rate
        time.sleep(max(0, next_at - time.monotonic()))


def with_connection(rate, queries):
    connection = connect()

    def step(pick):
        with connection.cursor() as cursor:
            queries(cursor, pick)

    paced(rate, step)


def point_read(cursor, pick):
    cursor.execute("SELECT c FROM items WHERE id = %s", (pick.randint(1, 1000),))
    cursor.fetchall()


def read_write(cursor, pick):
    cursor.execute("BEGIN")
    cursor.execute("SELECT k FROM items WHERE id = %s", (pick.randint(1, 1000),))
    cursor.execute("UPDATE items SET k = k + 1 WHERE id = %s", (pick.randint(1, 1000),))
    cursor.execute("INSERT INTO orders (item) VALUES (%s)", (pick.randint(1, 1000),))
    cursor.execute("COMMIT")


def range_read(cursor, pick):
    start = pick.randint(1, 900)
    cursor.execute("SELECT SUM(k) FROM items WHERE id BETWEEN %s AND %s", (start, start + 100))
    cursor.fetchall()


def short_connection(pick):
    connection = connect()
    with connection.cursor() as cursor:
        point_read(cursor, pick)
    connection.close()


def health_check(pick):
    subprocess.run(["docker", "exec", container, "mariadb-admin", "ping"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)


clients = [threading.Thread(target=with_connection, args=(100, point_read)),
           threading.Thread(target=with_connection, args=(20, read_write)),
           threading.Thread(target=with_connection, args=(5, range_read)),
           threading.Thread(target=paced, args=(3, short_connection)),
           threading.Thread(target=paced, args=(1 / 15, health_check))]
for client in clients:
    client.start()
for client in clients:
    client.join()
