import Foundation

/// A small HTTPS server (Python's `http.server` with `ssl`) started by a test on a free loopback port with the test's
/// certificates: it takes Logplex POSTs, records each one (its headers and body) as a line of JSON in
/// `requests.jsonl`, and answers 500 to the first `failing` of them, 200 after.
public final class LogplexReceiver: @unchecked Sendable {
    public let port: UInt16
    public let folder: String
    private let process: TestProcess

    /// One POST as received.
    public struct Request: Decodable, Sendable {
        public var status: Int
        /// The request's path and query.
        public var path: String
        public var headers: [String: String]
        public var body: String

        /// The header `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }

        /// The body's messages, each octet-counted frame's text without its newline.
        public var messages: [String] {
            var bytes = Substring(body).utf8[...]
            var messages: [String] = []
            while let space = bytes.firstIndex(of: 0x20), let count = Int(String(Substring(bytes[..<space]))) {
                let start = bytes.index(after: space)
                guard let end = bytes.index(start, offsetBy: count, limitedBy: bytes.endIndex) else { break }
                var message = String(Substring(bytes[start..<end]))
                if message.hasSuffix("\n") { message.removeLast() }
                messages.append(message)
                bytes = bytes[end...]
            }
            return messages
        }
    }

    public init(folder: String, certificates: TestCertificates, failing: Int = 0) throws {
        self.folder = folder
        port = try freeLoopbackPort()
        let script = "\(folder)/receiver.py"
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: script))
        process = try TestProcess(
            [
                try tool("python3"), script, "\(port)", certificates.certificateFile, certificates.keyFile,
                "\(folder)/requests.jsonl", "\(failing)",
            ], stdout: .file("\(folder)/out.log"), stderr: .file("\(folder)/out.log"), newSession: true)
        guard waitUntil(seconds: 30, { loopbackPortAcceptsConnections(port) || !process.isRunning }), process.isRunning
        else {
            process.terminate()
            throw ToolError.launchFailed(["python3", script], "the Logplex receiver did not listen on \(port)")
        }
    }

    deinit { stop() }

    public func stop() { process.terminate(grace: 5) }

    /// The requests received so far, in order.
    public func requests() -> [Request] {
        guard let data = FileManager.default.contents(atPath: "\(folder)/requests.jsonl") else { return [] }
        return data.split(separator: 0x0a).compactMap { try? JSONDecoder().decode(Request.self, from: Data($0)) }
    }

    static let script = """
        import http.server, json, ssl, sys, threading
        port, cert, key, out, failing = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        lock = threading.Lock()
        seen = [0]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    seen[0] += 1
                    status = 500 if seen[0] <= failing else 200
                    with open(out, "a") as f:
                        f.write(json.dumps({"status": status, "path": self.path, "headers": dict(self.headers.items()),
                                            "body": body.decode("utf-8", "replace")}) + "\\n")
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()

        """
}
