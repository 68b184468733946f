import Foundation
import SlipwayRunnerKit
import SlipwaySystem

/// The user the runner's own Caddy runs as when the runner is root: `slipway-router`, a system user without a home or
/// a login (`scripts/setup` makes it; the runner makes it when it is missing). Caddy parses every request from the
/// internet: running it as root would give whoever exploits it the machine.
enum RouterUser {
    static let name = "slipway-router"

    /// The user, made first when the password database has none.
    static func ensure() throws -> Sandbox.User {
        if let user = try? Sandbox.User.named(name) { return user }
        do {
            try SystemTool.run(
                "/usr/sbin/useradd",
                [
                    "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                    "/usr/sbin/nologin", "--comment", "Slipway router (Caddy)", name,
                ],
                package: "passwd", what: "Creating the router's user \(name)",
                hint: "Create it yourself (useradd --system --user-group \(name)), then start the runner again.")
        } catch {
            // Another runner of this machine may have made it meanwhile.
            if let user = try? Sandbox.User.named(name) { return user }
            throw RunnerError(.system, "slugrunner: \(error)")
        }
        do { return try Sandbox.User.named(name) } catch { throw RunnerError(.system, "slugrunner: \(error)") }
    }
}
