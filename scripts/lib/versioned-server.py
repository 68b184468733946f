"""The web process of the zero-downtime test and the router benchmark: answers every GET with the contents of
version.txt and the MARK config var. On SIGTERM it stops as a well-behaved server does (as Go's Server.Shutdown):
it stops accepting, closes the kept-alive connections that wait for a request, lets the requests in progress finish,
then exits 0."""
import http.server
import os
import signal
import socket
import threading

lock = threading.Lock()
idle = set()  # kept-alive connections waiting for their next request
stopping = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the router's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def handle(self):
        # A connection waiting for its first request is idle too: a router may open one it does not use at once
        # (Go's transport keeps a connection it dialled for a request another connection took), and a stopping
        # server that waited for it would never exit.
        self.close_connection = False
        while not self.close_connection:
            with lock:
                if stopping:
                    return
                idle.add(self.connection)
            self.handle_one_request()

    def do_GET(self):
        with lock:
            idle.discard(self.connection)
            if stopping:
                self.close_connection = True
        with open("version.txt") as f:
            body = (f.read().strip() + " " + os.environ.get("MARK", "-") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def stop(*_):
    global stopping
    with lock:
        stopping = True
        for connection in idle:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        idle.clear()
    threading.Thread(target=server.shutdown).start()


# Every address, as a Heroku app binds: a dyno with a network of its own (and a Swarm task) is reached at its own
# address, not on loopback.
server = http.server.ThreadingHTTPServer((os.environ.get("BIND_ADDRESS", "0.0.0.0"), int(os.environ["PORT"])), Handler)
server.daemon_threads = False
signal.signal(signal.SIGTERM, stop)
server.serve_forever()
server.server_close()
