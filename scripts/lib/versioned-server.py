"""The web process of the zero-downtime test and the router benchmark: answers every GET with the contents of
version.txt and the MARK config var, and on SIGTERM stops accepting and finishes the requests it holds, as a
well-behaved app does."""
import http.server
import os
import signal
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the router's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def do_GET(self):
        with open("version.txt") as f:
            body = (f.read().strip() + " " + os.environ.get("MARK", "-") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = False
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
server.serve_forever()
server.server_close()
