"""The report helper the shop API runs as a separate program: reads the shop's log and counts."""
import sys

with open("/var/log/shop/app.log") as log:
    orders = sum(1 for line in log if "order" in line and "placed" in line)
print(f"{orders} orders this {sys.argv[1] if len(sys.argv) > 1 else 'day'}")
