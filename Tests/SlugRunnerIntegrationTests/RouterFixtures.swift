import Foundation
import SlipwayRouting
import SlipwayTestSupport
import SlugRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A router on a free loopback port with real web dynos in front of it: small python3 servers, each answering with
/// its dyno name and the request headers it got. Everything it starts is stopped by ``stop()`` (call it in a
/// `defer`), and by `deinit` should a test forget.
final class RouterWorld {
    let scratch: ScratchDirectory
    let router: Router
    let port: UInt16
    private var upstreams: [String: TestProcess] = [:]

    /// The web dyno: `GET /sleep/<s>` answers after `s` seconds; an `Upgrade: websocket` request gets the 101
    /// handshake and then its bytes echoed; anything else gets `{"dyno": …, "path": …, "headers": {…}}`.
    static let upstreamScript = """
        import base64, hashlib, http.server, json, sys, time
        port, dyno = int(sys.argv[1]), sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
                    self.send_response(101)
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
                    self.end_headers()
                    self.wfile.flush()
                    while True:
                        data = self.connection.recv(4096)
                        if not data: return
                        self.connection.sendall(data)
                if self.path.startswith("/sleep/"):
                    time.sleep(float(self.path[len("/sleep/"):]))
                body = json.dumps({"dyno": dyno, "path": self.path, "headers": dict(self.headers)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        http.server.ThreadingHTTPServer.daemon_threads = True
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """

    /// A client that sends `GET /` to the router without pause, each on a new connection, until the file `stop`
    /// exists; then prints `{"ok": n, "failed": n, "dynos": {…}, "errors": […]}`.
    static let steadyClientScript = """
        import http.client, json, os, sys
        port, host, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        ok, failed, dynos, errors = 0, 0, {}, []
        while not os.path.exists(stop):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                connection.request("GET", "/", headers={"Host": host})
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200:
                    ok += 1
                    dyno = json.loads(body)["dyno"]
                    dynos[dyno] = dynos.get(dyno, 0) + 1
                else:
                    failed += 1
                    errors.append(f"status {response.status}")
            except Exception as error:
                failed += 1
                errors.append(repr(error))
        print(json.dumps({"ok": ok, "failed": failed, "dynos": dynos, "errors": errors[:10]}))
        """

    /// A WebSocket handshake through the router; prints the status line, then what came back for `ping-123`.
    static let webSocketClientScript = """
        import socket, sys
        port, host = int(sys.argv[1]), sys.argv[2]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(("GET /chat HTTP/1.1\\r\\nHost: " + host + "\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n").encode())
        head = b""
        while b"\\r\\n\\r\\n" not in head:
            chunk = s.recv(1)
            if not chunk: break
            head += chunk
        print(head.split(b"\\r\\n")[0].decode())
        print("accept:" + ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head.decode()).__str__())
        s.sendall(b"ping-123")
        print("echo:" + s.recv(100).decode())
        """

    init(_ label: String, timeout: Duration = .seconds(30)) throws {
        scratch = try ScratchDirectory(label)
        for (name, script) in [
            ("upstream.py", Self.upstreamScript), ("client.py", Self.steadyClientScript),
            ("websocket.py", Self.webSocketClientScript),
        ] {
            try scratch.write(name, script)
        }
        port = try freeLoopbackPort()
        router = Router(
            settings: RouterSettings(
                folder: scratch.url("router"), listen: "127.0.0.1:\(port)", timeout: timeout))
    }

    deinit { stop() }

    /// Stops the router and every upstream.
    func stop() {
        router.stop()
        for process in upstreams.values { process.terminate(grace: 2) }
        upstreams = [:]
    }

    /// Starts a web dyno named `dyno` on a free port, once it accepts connections.
    func startUpstream(_ dyno: String) throws -> RouteTable.Upstream {
        let port = try freeLoopbackPort()
        let process = try TestProcess(
            ["/usr/bin/python3", scratch.url("upstream.py"), "\(port)", dyno], stdout: .null, stderr: .null)
        upstreams["\(dyno)@\(port)"] = process
        guard waitUntil(seconds: 20, { loopbackPortAcceptsConnections(port) }) else {
            throw RouterTestError(description: "upstream \(dyno) never listened on port \(port)")
        }
        return RouteTable.Upstream(dyno: dyno, port: port)
    }

    /// Stops the web dyno `upstream`.
    func stopUpstream(_ upstream: RouteTable.Upstream) {
        upstreams.removeValue(forKey: "\(upstream.dyno)@\(upstream.port)")?.terminate(grace: 2)
    }

    /// A table of one app answering at `<app>.localhost`.
    func table(_ app: String, _ upstreams: [RouteTable.Upstream]) -> RouteTable {
        RouteTable(apps: [.init(name: app, baseDomain: "localhost", upstreams: upstreams)])
    }

    /// `curl` through the router with `Host: <host>`: the status, the response headers and the body.
    func get(
        _ path: String = "/", host: String, headers: [String] = [], maxTime: Int = 20
    ) throws -> (status: Int, headers: String, body: String) {
        let headerFile = scratch.url("headers-\(UUID().uuidString)")
        var argv = [
            "/usr/bin/curl", "-s", "--max-time", "\(maxTime)", "-D", headerFile, "-o", "-", "-w", "\n%{http_code}",
            "-H", "Host: \(host)",
        ]
        for header in headers { argv += ["-H", header] }
        let result = try runTool(argv + ["http://127.0.0.1:\(port)\(path)"], timeout: TimeInterval(maxTime + 10))
        var body = result.stdout
        let status = body.split(separator: "\n").last.flatMap { Int($0) } ?? 0
        if let newline = body.lastIndex(of: "\n") { body = String(body[..<newline]) }
        return (status, (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "", body)
    }

    /// The value of response header `name` (case-insensitive) in `headers`.
    static func header(_ name: String, in headers: String) -> String? {
        for line in headers.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The JSON body an upstream answered with.
    static func answer(_ body: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }
}

/// A fixture that could not be set up.
struct RouterTestError: Error, CustomStringConvertible {
    var description: String
}
