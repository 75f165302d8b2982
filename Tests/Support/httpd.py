#!/usr/bin/env python3
"""A test web server: serves a directory, plus paths that misbehave on purpose.

Usage: httpd.py DIR [--tls CERT KEY] [--bind ADDR]; prints "PORT" once it listens.
Special paths: /_loop (redirects to itself), /_redirect?to=URL, /_stall (headers, then
nothing), /_truncated (announces 100000 bytes, sends 1000, closes), /_flaky/NAME (503 for
the first two requests, then the file NAME), /_slow/NAME (the file at 64 KiB/s),
/_trickle (announces 1000000 bytes, then sends one every 0.5 s: above any stall limit,
never done), /_endless (no length, 64 KiB chunks for ever), /_auth/NAME (the file NAME
for Basic credentials user:secret, else 401).
Every request is logged to stderr as "GET path".
"""
import base64, http.server, os, socket, socketserver, ssl, sys, time, urllib.parse

root = sys.argv[1]
args = sys.argv[2:]
tls = None
bind = "127.0.0.1"
while args:
    if args[0] == "--tls":
        tls = (args[1], args[2]); args = args[3:]
    elif args[0] == "--bind":
        bind = args[1]; args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])
flaky = {}


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=root, **kw)

    def log_message(self, fmt, *a):
        sys.stderr.write(fmt % a + "\n")
        sys.stderr.flush()

    def send_file(self, name, rate=None):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if rate is None:
            self.wfile.write(data)
            return
        for i in range(0, len(data), rate // 8):
            self.wfile.write(data[i:i + rate // 8])
            self.wfile.flush()
            time.sleep(0.125)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/_loop":
            self.send_response(302)
            self.send_header("Location", "/_loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/_redirect":
            self.send_response(302)
            self.send_header("Location", urllib.parse.parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/_stall":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            time.sleep(3600)
        elif url.path == "/_truncated":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        elif url.path.startswith("/_flaky/"):
            name = url.path[len("/_flaky/"):]
            flaky[name] = flaky.get(name, 0) + 1
            if flaky[name] <= 2:
                self.send_error(503)
            else:
                self.send_file(name)
        elif url.path.startswith("/_slow/"):
            self.send_file(url.path[len("/_slow/"):], rate=64 * 1024)
        elif url.path == "/_trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                self.close_connection = True
        elif url.path == "/_endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                while True:
                    self.wfile.write(b"z" * 65536)
            except OSError:
                pass
        elif url.path.startswith("/_auth/"):
            expected = "Basic " + base64.b64encode(b"user:secret").decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="kexboot"')
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_file(url.path[len("/_auth/"):])
        else:
            super().do_GET()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if ":" in bind:
    Server.address_family = socket.AF_INET6
server = Server((bind, 0), Handler)
if tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[0], tls[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
