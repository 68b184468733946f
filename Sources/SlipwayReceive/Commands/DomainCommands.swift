import Foundation
import SlipwaySpool
import SlipwaySystem

/// `domains`, `domains:add`, `domains:remove`: the host names the router sends to an app besides its own
/// `<app>.<base domain>`, recorded in its `dynos.json` (``DynoSettings/domains``).
extension ManagementCommands {
    /// The most domains one app may have.
    static let maximumDomains = 100

    static let domainCommands = [
        ManagementCommand("domains", "<app>", "List the host names the router sends to the app.", arity: 1...1) {
            run in
            let (app, _) = try run.app()
            let settings = try dynoSettings(run, app.name)
            run.out("=== \(app.name) domains")
            run.out("\(app.name).\(baseDomain(run.root, app: app.name)) (default)")
            for domain in settings.domains { run.out(domain) }
        },
        ManagementCommand(
            "domains:add", "<app> <host>", "Route a host name (www.example.com, *.example.com) to the app.",
            arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            let host = try domainArgument(run.arguments[1])
            let base = baseDomain(run.root, app: app.name)
            if host == "\(app.name).\(base)" {
                throw DoorError(
                    .invalidValue, "slipway: \(host) is \(app.name)'s own address already; add other host names")
            }
            if host.hasSuffix(".\(base)"), !host.dropLast(base.count + 1).contains(".") {
                throw DoorError(
                    .invalidValue,
                    "slipway: names of the form <app>.\(base) are the apps' own addresses; add a domain of your own")
            }
            // One domains:add at a time on the server, so that two apps never both get a host name.
            let lock = try domainsLock(run)
            let added = try withExtendedLifetime(lock) { () throws -> Bool in
                if try domainOwner(host, root: run.root, except: app.name) {
                    throw DoorError(
                        .notPossible,
                        "slipway: \(host) is a domain of another app; remove it there first (domains:remove)")
                }
                var added = false
                try updateDynoSettings(run, app.name) { settings in
                    guard !settings.domains.contains(host) else { return }
                    guard settings.domains.count < maximumDomains else {
                        throw DoorError(
                            .notPossible,
                            "slipway: \(app.name) has \(maximumDomains) domains, the most an app may have; remove one")
                    }
                    settings.domains.append(host)
                    added = true
                }
                return added
            }
            if added {
                run.say("Adding \(host) to \(app.name)... done (the runner routes it within seconds)")
            } else {
                run.say("\(host) is a domain of \(app.name) already: no change")
            }
        },
        ManagementCommand(
            "domains:remove", "<app> <host>", "Stop routing a host name to the app.", arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            let host = run.arguments[1].lowercased()
            var removed = false
            try updateDynoSettings(run, app.name) { settings in
                removed = settings.domains.contains(host)
                settings.domains.removeAll { $0 == host }
            }
            guard removed else {
                throw DoorError(
                    .notFound,
                    "slipway: \(app.name) has no domain \(TerminalText.printable(host)) (domains \(app.name) lists them)"
                )
            }
            run.say("Removing \(host) from \(app.name)... done")
        },
    ]

    /// The host name in `word`, lowercase, or the refusal.
    private static func domainArgument(_ word: String) throws -> String {
        let host = word.lowercased()
        guard DynoSettings.isDomain(host) else {
            throw DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(word))' is not a host name: give one like www.example.com or "
                    + "*.example.com (letters, digits, hyphens, dots)")
        }
        return host
    }

    /// Whether an app other than `except` has `host` among its domains.
    private static func domainOwner(_ host: String, root: SlipwayRoot, except: String) throws -> Bool {
        let names: [String]
        do throws(SystemError) { names = try FileSystem.names(in: root.appsDirectory) } catch {
            throw DoorError.storage("list", root.appsDirectory, error)
        }
        for name in names where name != except && AppName.isValid(name) {
            let path = root.layout.dynoSettings(name)
            // A file that cannot be read is no reason to refuse this app its domain; its own app gets the error.
            if let settings = try? DynoSettings.load(from: path), settings.domains.contains(host) { return true }
        }
        return false
    }

    private static func domainsLock(_ run: Invocation) throws -> HeldLock {
        do throws(SystemError) {
            try FileSystem.makeFolders(run.root.layout.run, mode: 0o755)
            return try HeldLock(run.root.layout.domainsLock)
        } catch {
            throw DoorError.storage(error)
        }
    }

    /// The router's base domain: as the runner reports it in the app's state (else in another app's), else
    /// `localhost`, the runner's default.
    static func baseDomain(_ root: SlipwayRoot, app: String) -> String {
        func reported(_ name: String) -> String? {
            (try? FileSystem.read(root.layout.runnerState(name))).flatMap { $0 }.flatMap(RunnerState.decode)?
                .baseDomain
        }
        if let own = reported(app) { return own }
        let others = (try? FileSystem.names(in: root.layout.runnerApps)) ?? []
        for name in others.sorted() where AppName.isValid(name) {
            if let base = reported(name) { return base }
        }
        return "localhost"
    }
}
