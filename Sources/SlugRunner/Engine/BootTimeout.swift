import Foundation

/// Heroku's R10 (Boot timeout) in the runner's words: which web dynos did not come up within the boot timeout, on
/// which `PORT`, and what the app should do about it. Both engines say it; each knows where its dynos were checked.
enum BootTimeout {
    /// The local engine's: each dyno's own `PORT`, checked on the runner's listen address. It starts with the dynos'
    /// names, as the deploy's other failures do (`v2 failed: web.1 …`).
    static func local(
        _ dynos: [(name: String, port: UInt16)], address: String?, timeout: Duration, healthcheck: String?
    ) -> String {
        let named = dynos.map { "\($0.name) (PORT=\($0.port))" }.joined(separator: ", ")
        // A dyno with a network of its own is reached at its own address, as on Heroku: loopback is not enough.
        let place = address ?? "its own address"
        guard let healthcheck else {
            return "\(named) did not accept connections on \(place) within \(timeout.spoken) of launch (Error R10, "
                + "Boot timeout: the web process must bind to "
                + (address == nil ? "0.0.0.0:$PORT, not 127.0.0.1)" : "$PORT)")
        }
        return "\(named) did not pass the health check GET \(healthcheck) (2xx or 3xx) on \(place) within "
            + "\(timeout.spoken) of launch (Error R10, Boot timeout)"
    }

    /// The swarm engine's: every task listens on the same `PORT` inside its container, which the health check
    /// reaches at the container's address, so an app bound to loopback never passes. `bound` is what the dynos'
    /// output said they listen on, by dyno, when it said so.
    static func swarm(
        _ dynos: [String], port: Int, timeout: Duration, healthcheck: String?, bound: [String: String]
    ) -> String {
        let within = "within \(timeout.spoken) of launch"
        let what =
            healthcheck.map { "did not pass the health check GET \($0) (2xx or 3xx) \(within)" }
            ?? "failed to bind to $PORT (\(port)) \(within)"
        let said = dynos.compactMap { dyno in bound[dyno].map { "\(dyno) listens on \($0)" } }
        return "Error R10 (Boot timeout) -> \(dynos.joined(separator: ", ")) \(what): listen on 0.0.0.0:$PORT, not "
            + "127.0.0.1" + (said.isEmpty ? "" : " (its output says: \(said.joined(separator: ", ")))")
    }

    /// The address a line of an app's output says it listens on (`127.0.0.1:5000` from Python's `Serving HTTP on
    /// 127.0.0.1 port 5000`, Flask's `Running on http://127.0.0.1:5000`, Node's `Listening on http://localhost:3000`);
    /// nil when the line says no such thing.
    static func boundAddress(in line: String) -> String? {
        let lower = line.lowercased()
        guard ["listen", "serving", "running on", "bound", "bind", "started"].contains(where: lower.contains) else {
            return nil
        }
        let pattern = #/(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1?\])(?::| port )([0-9]{1,5})/#
        guard let match = lower.firstMatch(of: pattern) else { return nil }
        return "\(match.1):\(match.2)"
    }
}
