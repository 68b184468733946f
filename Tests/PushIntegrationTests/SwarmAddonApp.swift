/// The app `SwarmAddonTests` deploys on the swarm: the stack image has Python but no PostgreSQL client, so the app
/// speaks PostgreSQL's protocol itself, with Python's standard library only (`db.py`: TLS as `sslmode=require`
/// asks, SCRAM-SHA-256, simple queries). Its release phase makes the table; its web dyno adds and lists rows.
enum SwarmAddonApp {
    static let files: [String: String] = [
        "Procfile": "release: python3 db.py 'CREATE TABLE IF NOT EXISTS notes (body text)'\nweb: python3 web.py\n",
        "db.py": db,
        "web.py": web,
    ]

    static let db = #"""
        import base64, hashlib, hmac, os, socket, ssl, struct, sys, urllib.parse


        class Connection:
            def __init__(self, url):
                parts = urllib.parse.urlparse(url)
                plain = socket.create_connection((parts.hostname, parts.port or 5432), timeout=20)
                plain.sendall(struct.pack("!ii", 8, 80877103))
                if plain.recv(1) != b"S":
                    raise RuntimeError("the server refused TLS")
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                self.sock = context.wrap_socket(plain)
                self.buffer = b""
                user = urllib.parse.unquote(parts.username)
                params = b"user\0" + user.encode() + b"\0database\0" + parts.path.lstrip("/").encode() + b"\0\0"
                self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
                self.authenticate(urllib.parse.unquote(parts.password))

            def read(self, count):
                while len(self.buffer) < count:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise RuntimeError("the server closed the connection")
                    self.buffer += chunk
                data, self.buffer = self.buffer[:count], self.buffer[count:]
                return data

            def message(self):
                kind, length = struct.unpack("!ci", self.read(5))
                body = self.read(length - 4)
                if kind == b"E":
                    fields = dict((f[:1], f[1:].decode(errors="replace")) for f in body.split(b"\0") if f)
                    raise RuntimeError(fields.get(b"M", "error"))
                return kind, body

            def send(self, kind, body):
                self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

            def authenticate(self, password):
                first = "n=,r=" + base64.b64encode(os.urandom(18)).decode()
                while True:
                    kind, body = self.message()
                    if kind == b"Z":
                        return
                    if kind != b"R":
                        continue
                    code = struct.unpack("!i", body[:4])[0]
                    if code == 10:
                        payload = ("n,," + first).encode()
                        self.send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(payload)) + payload)
                    elif code == 11:
                        server = body[4:].decode()
                        attributes = dict(item.split("=", 1) for item in server.split(","))
                        salted = hashlib.pbkdf2_hmac(
                            "sha256", password.encode(), base64.b64decode(attributes["s"]), int(attributes["i"]))
                        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
                        bare = "c=biws,r=" + attributes["r"]
                        message = ",".join([first, server, bare]).encode()
                        signature = hmac.new(hashlib.sha256(client_key).digest(), message, "sha256").digest()
                        proof = bytes(a ^ b for a, b in zip(client_key, signature))
                        self.send(b"p", (bare + ",p=" + base64.b64encode(proof).decode()).encode())
                    elif code not in (0, 12):
                        raise RuntimeError("unsupported authentication %d" % code)

            def query(self, sql):
                self.send(b"Q", sql.encode() + b"\0")
                rows, failure = [], None
                while True:
                    try:
                        kind, body = self.message()
                    except RuntimeError as error:
                        failure = failure or str(error)
                        continue
                    if kind == b"D":
                        row, at = [], 2
                        for _ in range(struct.unpack("!h", body[:2])[0]):
                            length = struct.unpack("!i", body[at:at + 4])[0]
                            at += 4
                            row.append(None if length < 0 else body[at:at + length].decode())
                            at += max(length, 0)
                        rows.append(row)
                    elif kind == b"Z":
                        if failure:
                            raise RuntimeError(failure)
                        return rows

            def close(self):
                self.send(b"X", b"")
                self.sock.close()


        def literal(text):
            return "'" + text.replace("'", "''") + "'"


        if __name__ == "__main__":
            connection = Connection(os.environ["DATABASE_URL"])
            connection.query(sys.argv[1])
            connection.close()
            print("db.py: done")

        """#

    static let web = #"""
        import http.server, os, urllib.parse
        import db


        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                try:
                    connection = db.Connection(os.environ["DATABASE_URL"])
                    if url.path == "/add":
                        connection.query("INSERT INTO notes VALUES (%s)" % db.literal(urllib.parse.unquote(url.query)))
                        text = "added\n"
                    else:
                        rows = connection.query("SELECT body FROM notes ORDER BY body")
                        text = "notes:" + "".join(" " + row[0] for row in rows) + "\n"
                    connection.close()
                    status = 200
                except Exception as error:
                    text, status = "error: %s\n" % error, 500
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)


        http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()

        """#
}
