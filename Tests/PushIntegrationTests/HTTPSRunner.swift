import Foundation
import SlipwayTestSupport

/// `slugrunner watch` on a push harness's root with its router serving HTTP and HTTPS on free loopback ports, and
/// certificates from a private ACME CA (pebble) that validates against those ports. Stopped (runner, then CA) when
/// released.
final class HTTPSRunner {
    let http: UInt16
    let https: UInt16
    let pebble: PrivatePebble
    let watcher: TestProcess
    /// The runner's output.
    let log: String

    init(_ h: PushHarness) throws {
        http = try freeLoopbackPort()
        https = try freeLoopbackPort()
        pebble = try PrivatePebble(folder: h.scratch.url("pebble"), httpPort: http, tlsPort: https)
        log = h.scratch.url("watch.log")
        do {
            watcher = try TestProcess(
                [
                    TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "10", "--interval", "0.2",
                    "--router", "127.0.0.1:\(http)", "--router-tls", "127.0.0.1:\(https)", "--acme-ca",
                    pebble.directory, "--acme-ca-root", pebble.listenerRoot, "--acme-email", "ops@example.com",
                ],
                stdout: .file(log), stderr: .file(log))
        } catch {
            pebble.stop()
            throw error
        }
    }

    deinit {
        watcher.terminate(grace: 30)
        pebble.stop()
    }
}
