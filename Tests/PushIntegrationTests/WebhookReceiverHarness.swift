import Foundation
import SlipwayAppWebhooks
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport

/// A webhook receiver for one test: python3's `http.server` on a free loopback port, recording each POST (headers and
/// body, in arrival order) as a file and answering with the status in its `status` file (204 by default). While its
/// `hold` file exists it keeps each request unanswered (a receiver that hangs). Stopped when released.
final class WebhookReceiverHarness {
    struct Request {
        var headers: [String: String]
        var body: Data

        var payload: WebhookPayload? { try? JSONDecoder().decode(WebhookPayload.self, from: body) }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    let folder: String
    let port: UInt16
    private let process: TestProcess

    var url: String { "http://127.0.0.1:\(port)/hooks/slipway" }

    init(in scratch: ScratchDirectory) throws {
        folder = try scratch.makeDirectory("receiver")
        _ = try scratch.makeDirectory("receiver/requests")
        let script = try scratch.write("receiver/server.py", Self.script)
        port = try freeLoopbackPort()
        process = try TestProcess(
            [try tool("python3"), script, folder, String(port)], stdout: .file("\(folder)/log"),
            stderr: .file("\(folder)/log"))
        guard waitUntil({ loopbackPortAcceptsConnections(self.port) }) else {
            throw HarnessError("the webhook receiver did not start: \((try? scratch.read("receiver/log")) ?? "")")
        }
    }

    deinit {
        release()
        process.terminate()
    }

    /// The status the receiver answers with from now on.
    func answer(_ status: Int) throws {
        try DurableFile.replace("\(folder)/status", with: Data("\(status)".utf8))
    }

    /// Makes the receiver hold each request unanswered until ``release()``.
    func hold() { _ = FileManager.default.createFile(atPath: "\(folder)/hold", contents: nil) }
    func release() { unlink("\(folder)/hold") }

    /// Whether a request is being held now.
    var isHolding: Bool { FileManager.default.fileExists(atPath: "\(folder)/holding") }

    /// The requests received so far, in order.
    var requests: [Request] {
        let names = ((try? FileSystem.names(in: "\(folder)/requests")) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(folder)/requests/\(name)"),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let headers = object["headers"] as? [String: String], let body = object["body"] as? String
            else { return nil }
            return Request(headers: headers, body: Data(body.utf8))
        }
    }

    static let script = """
        import http.server, json, os, sys, time
        folder, port = sys.argv[1], int(sys.argv[2])
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                count = len([n for n in os.listdir(folder + '/requests') if n.endswith('.json')])
                path = '%s/requests/%06d.json' % (folder, count)
                with open(path + '.tmp', 'w') as f:
                    json.dump({'headers': dict(self.headers), 'body': body.decode()}, f)
                os.rename(path + '.tmp', path)
                if os.path.exists(folder + '/hold'):
                    open(folder + '/holding', 'w').close()
                    while os.path.exists(folder + '/hold'):
                        time.sleep(0.05)
                    os.unlink(folder + '/holding')
                try:
                    status = int(open(folder + '/status').read())
                except OSError:
                    status = 204
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', port), Handler).serve_forever()

        """
}

extension PushHarness {
    /// Waits until no deliverer is at work and nothing is queued (so none outlives the test); whether that came.
    func webhookDeliveriesSettle(seconds: TimeInterval = 60) -> Bool {
        let layout = RootLayout(root)
        return waitUntil(seconds: seconds) {
            !HeldLock.isHeld(layout.webhookDelivererLock) && DeliveryQueue(layout: layout).isEmpty
        }
    }
}
