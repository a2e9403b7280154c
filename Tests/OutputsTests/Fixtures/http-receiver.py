#!/usr/bin/env python3
"""An HTTP receiver for the http output's tests: it records every request it is sent, as a JSON
line in RECORD (method, path, headers, the body decoded from gzip when so encoded, the client's
port), and answers 200, or what --answers says for the first requests (500 500 400: the first two
get 500, the third 400). With --cert and --key it speaks TLS; with --client-ca it also requires a
client certificate signed by that CA. --stall makes it read requests and never answer. It prints
its port on stdout once it listens on 127.0.0.1. Lines on stdin change how it answers from then
on: "stall" (read each request, never answer it), "fail CODE" (answer CODE), "ok" (answer 200, or
what --answers says); it stops when stdin closes."""
import argparse, gzip, http.server, json, ssl, sys, threading

parser = argparse.ArgumentParser()
parser.add_argument("record")
parser.add_argument("--answers", nargs="*", type=int, default=[])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--client-ca")
parser.add_argument("--stall", action="store_true")
options = parser.parse_args()

answers = list(options.answers)
lock = threading.Lock()
record = open(options.record, "a", buffering=1)
# Set while requests are answered: a stalled handler waits for it, then drops its connection.
answering = threading.Event()
if not options.stall:
    answering.set()
failing = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Its answer goes out in two writes (headers, body): with Nagle's algorithm the second waits
    # for the client's delayed acknowledgement, 40 ms a request.
    disable_nagle_algorithm = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        stalled = not answering.is_set()
        with lock:
            # Status 0: read and never answered.
            status = 0 if stalled else failing or (answers.pop(0) if answers else 200)
            record.write(json.dumps({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                     "body": body.decode("utf-8"), "client_port": self.client_address[1],
                                     "status": status}) + "\n")
        if stalled:
            answering.wait()
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *arguments):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if options.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(options.cert, options.key)
    if options.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(options.client_ca)
    server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
for line in sys.stdin:
    command = line.split()
    if command == ["stall"]:
        answering.clear()
    elif command[:1] == ["fail"]:
        failing = int(command[1])
        answering.set()
    elif command == ["ok"]:
        failing = None
        answering.set()
