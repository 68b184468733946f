import Foundation
import SlipwayDoorRecords
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
            if DomainName.isWildcard(host), ".\(base)".hasSuffix(host.dropFirst()) {
                throw DoorError(
                    .invalidValue,
                    "slipway: \(host) covers the apps' own addresses (<app>.\(base)); add a domain of your own")
            }
            // One domains:add at a time on the server, so that two apps never both get a host name.
            let lock = try domainsLock(run)
            let added = try withExtendedLifetime(lock) { () throws -> Bool in
                if let taken = try overlappingDomain(host, root: run.root, except: app.name) {
                    throw refusal(host, taken: taken, actor: run.actor, root: run.root)
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
            let host = DomainName.normalized(run.arguments[1]) ?? run.arguments[1].lowercased()
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

    /// The host name in `word`, normalized (``DomainName/normalized(_:)``), or the refusal.
    private static func domainArgument(_ word: String) throws -> String {
        guard let host = DomainName.normalized(word) else {
            throw DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(word))' is not a host name: give one like www.example.com or "
                    + "*.example.com (letters, digits, hyphens, dots; an international name in its xn-- form)")
        }
        return host
    }

    /// The first domain of an app other than `except` that overlaps `host` (the same name, a wildcard covering it,
    /// or a name it covers), with its app.
    private static func overlappingDomain(
        _ host: String, root: SlipwayRoot, except: String
    ) throws -> (app: String, domain: String)? {
        let names: [String]
        do throws(SystemError) { names = try FileSystem.names(in: root.appsDirectory) } catch {
            throw DoorError.storage("list", root.appsDirectory, error)
        }
        for name in names.sorted() where name != except && AppName.isValid(name) {
            let path = root.layout.dynoSettings(name)
            // A file that cannot be read is no reason to refuse this app its domain; its own app gets the error.
            guard let settings = try? DynoSettings.load(from: path) else { continue }
            if let domain = settings.domains.first(where: { DomainName.overlaps(host, $0) }) {
                return (name, domain)
            }
        }
        return nil
    }

    /// The refusal of `host`, which overlaps `taken`: naming the other app and its domain only to someone who has
    /// access to it, so that nobody learns another tenant's apps or domains by trying names.
    private static func refusal(
        _ host: String, taken: (app: String, domain: String), actor: Actor, root: SlipwayRoot
    ) -> DoorError {
        let registry = AppRegistry(root: root)
        let visible: Bool
        switch actor {
        case .serverOperator: visible = true
        case .user(let user):
            visible =
                (try? registry.settings(taken.app)).flatMap { $0 }.map { registry.canAccess(user: user, app: $0) }
                ?? false
        }
        guard visible else {
            return DoorError(
                .notPossible,
                "slipway: \(host) is a domain of another app, or overlaps one (a wildcard covering it, or a name under "
                    + "it); a host name belongs to one app: choose another")
        }
        let same =
            taken.domain == host ? "is a domain of \(taken.app)" : "overlaps \(taken.domain), a domain of \(taken.app)"
        return DoorError(
            .notPossible,
            "slipway: \(host) \(same); a host name belongs to one app: remove it there first "
                + "(domains:remove \(taken.app) \(taken.domain))")
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
