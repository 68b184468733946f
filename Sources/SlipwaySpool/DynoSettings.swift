public import Foundation
import SlipwaySystem

/// What an app's dynos should be, beyond the release: how many of each process type run and how much memory and disk
/// each gets (Heroku's formation), which process types to restart, the app's extra domains and its health check.
///
/// The door writes it (`ps:scale`, `ps:resize`, `ps:disk`, `ps:restart`, `domains:add`, `domains:remove`, `apps:set
/// healthcheck=`), and so does `slugrunner scale`; a runner reads it and makes its dynos match. It lives at
/// `<root>/apps/<app>/dynos.json` (``RootLayout/dynoSettings(_:)``) and is always replaced whole (temporary name,
/// fsync, rename), so a reader sees the old file or the new one. docs/spool.md, "What the door wants of the dynos",
/// is the contract for other runners.
///
/// ```json
/// {
///   "version": 1,
///   "formation": {"web": {"quantity": 2, "memoryMB": 1024, "diskMB": 4096}, "worker": {"quantity": 1}},
///   "restarts": {"web": 3},
///   "domains": ["www.example.com"],
///   "healthcheck": "/up",
///   "autoscale": {"web": {"min": 1, "max": 4, "p95": 200}},
///   "drains": [{"url": "syslog+tls://logs.example.com:6514", "token": "d.9173ea1f-6f14-4976-9cf0-7cd0dafdcdbc"}]
/// }
/// ```
public struct DynoSettings: Codable, Equatable, Sendable {
    /// The format's version; a runner refuses a file of a newer one.
    public static let currentVersion = 1
    /// A dyno's memory when its process type sets none, as on Heroku's smallest dyno.
    public static let defaultMemoryMB = 512
    /// The smallest and largest memory a dyno may be given.
    public static let memoryRange = 64...65536
    /// A dyno's disk (its `/app` and `/tmp` together) when its process type sets none.
    public static let defaultDiskMB = 2048
    /// The smallest and largest disk a dyno may be given.
    public static let diskRange = 64...1_048_576
    /// The host's free space a runner keeps from its dynos unless told otherwise (`--disk-reserve`).
    public static let defaultDiskReserveMB = 1024
    /// The most dynos of one process type.
    public static let maximumQuantity = 100

    /// One process type's dynos.
    public struct ProcessFormation: Codable, Equatable, Sendable {
        /// How many dynos run.
        public var quantity: Int
        /// Each dyno's memory in MB; ``DynoSettings/defaultMemoryMB`` when nil.
        public var memoryMB: Int?
        /// Each dyno's disk in MB; ``DynoSettings/defaultDiskMB`` when nil.
        public var diskMB: Int?

        public init(quantity: Int, memoryMB: Int? = nil, diskMB: Int? = nil) {
            self.quantity = quantity
            self.memoryMB = memoryMB
            self.diskMB = diskMB
        }
    }

    public var version: Int
    /// Process type → its dynos. A type left out runs no dyno, except `web`, which runs one until it is scaled.
    public var formation: [String: ProcessFormation]
    /// Process type → a counter that the door raises to restart that type's dynos. A runner restarts a type's dynos
    /// when the number grows past the one it last saw (and not when it first reads the file).
    public var restarts: [String: Int]
    /// Host names routed to the app besides `<app>.<base domain>`, lowercase, in the order they were added.
    public var domains: [String]
    /// A path each web dyno must answer with 2xx or 3xx before a release goes live, and afterwards to stay in it.
    public var healthcheck: String?
    /// Whether the router orders certificates from its ACME CA for the app's names (`certs:auto`); nil: yes.
    public var automaticCertificates: Bool?
    /// Whether plain HTTP to the app's names that have a certificate gets a 308 to HTTPS (`apps:set
    /// https-redirect=off`); nil: yes.
    public var httpsRedirect: Bool?
    /// The SHA-256 (hex) of the app's own certificate and key (`certs:add`), which lie in
    /// ``RootLayout/appCertificate(_:)`` and ``RootLayout/appCertificateKey(_:)``; nil: it has none. A runner
    /// loads them again when it changes.
    public var certificate: String?
    /// Process type → how the runner scales it by its response time (`ps:autoscale`); only `web` is autoscaled.
    /// While a type is autoscaled, the runner chooses its quantity within the bounds; `ps:scale` of it turns it off.
    public var autoscale: [String: Autoscale]?

    /// Autoscaling of one process type: between `min` and `max` dynos, keeping the p95 service time under `p95`.
    public struct Autoscale: Codable, Equatable, Sendable {
        /// The fewest dynos.
        public var min: Int
        /// The most dynos.
        public var max: Int
        /// The 95th percentile of the service time to stay under, in milliseconds.
        public var p95: Int

        public init(min: Int, max: Int, p95: Int) {
            self.min = min
            self.max = max
            self.p95 = p95
        }
    }

    /// The longest p95 target autoscaling takes, in ms (the router's timeout is 30 s).
    public static let autoscaleTargetRange = 1...30_000
    /// Where the app's log lines go besides its log file (`drains:add`), in the order they were added; nil (left out
    /// of the file) when there are none, so files written before drains existed read the same.
    public var drains: [LogDrain]?

    public init(
        formation: [String: ProcessFormation] = [:], restarts: [String: Int] = [:], domains: [String] = [],
        healthcheck: String? = nil, drains: [LogDrain]? = nil
    ) {
        self.version = Self.currentVersion
        self.formation = formation
        self.restarts = restarts
        self.domains = domains
        self.healthcheck = healthcheck
        self.drains = drains
    }

    /// The app's drains, none when the file has none.
    public var logDrains: [LogDrain] { drains ?? [] }

    /// How many dynos of `type` run: as set, else one `web` and nothing else.
    public func quantity(of type: String) -> Int {
        formation[type]?.quantity ?? (type == "web" ? 1 : 0)
    }

    /// The memory of each dyno of `type`, in MB.
    public func memoryMB(of type: String) -> Int {
        formation[type]?.memoryMB ?? Self.defaultMemoryMB
    }

    /// The disk of each dyno of `type` (its `/app` and `/tmp` together), in MB.
    public func diskMB(of type: String) -> Int {
        formation[type]?.diskMB ?? Self.defaultDiskMB
    }

    /// Process type → quantity, with the `web=1` default made explicit.
    public var quantities: [String: Int] {
        var counts = formation.mapValues(\.quantity)
        if counts["web"] == nil { counts["web"] = 1 }
        return counts
    }

    /// These settings with `type` scaled to `quantity` (its sizes kept), which turns its autoscaling off, as on
    /// Heroku.
    public func scaling(_ type: String, to quantity: Int) -> DynoSettings {
        var copy = self
        copy.autoscale?[type] = nil
        if copy.autoscale?.isEmpty == true { copy.autoscale = nil }
        copy.formation[type] = ProcessFormation(
            quantity: quantity, memoryMB: formation[type]?.memoryMB, diskMB: formation[type]?.diskMB)
        return copy
    }

    /// These settings with `type`'s dynos given `memoryMB` (its quantity and disk kept).
    public func resizing(_ type: String, to memoryMB: Int) -> DynoSettings {
        var copy = self
        copy.formation[type] = ProcessFormation(
            quantity: quantity(of: type), memoryMB: memoryMB, diskMB: formation[type]?.diskMB)
        return copy
    }

    /// These settings with `type`'s dynos given a disk of `diskMB` (its quantity and memory kept).
    public func resizingDisk(_ type: String, to diskMB: Int) -> DynoSettings {
        var copy = self
        copy.formation[type] = ProcessFormation(
            quantity: quantity(of: type), memoryMB: formation[type]?.memoryMB, diskMB: diskMB)
        return copy
    }

    /// These settings with a restart of each of `types` asked for.
    public func restarting(_ types: [String]) -> DynoSettings {
        var copy = self
        for type in types { copy.restarts[type, default: 0] += 1 }
        return copy
    }

    // MARK: - The file

    /// The settings in the file at `path`; the defaults when there is none.
    public static func load(from path: String) throws -> DynoSettings {
        let data: Data?
        do {
            data = try FileSystem.read(path)
        } catch {
            throw SpoolError(.invalidSettings, path: path, "cannot read \(path): \(error)")
        }
        guard let data else { return DynoSettings() }
        return try decode(data, path: path)
    }

    /// Parses and checks the file's bytes; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> DynoSettings {
        let settings: DynoSettings
        do {
            settings = try JSONDecoder().decode(DynoSettings.self, from: data)
        } catch {
            throw SpoolError(
                .invalidSettings, path: path,
                "\(path) is not a dyno settings file (docs/spool.md): fix it or remove it and scale again")
        }
        guard settings.version <= currentVersion else {
            throw SpoolError(
                .invalidSettings, path: path,
                "\(path) has version \(settings.version), newer than this program's \(currentVersion): upgrade it")
        }
        try settings.check(path: path)
        return settings
    }

    /// Writes the settings to `path`: temporary name, fsync, rename. With `keepOwner`, the file keeps the owner of
    /// the one it replaces (else of its folder) when this runs as root.
    public func save(to path: String, keepOwner: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(self)
        data.append(0x0a)
        try DurableFile.replace(path, with: data, mode: 0o644, keepOwner: keepOwner)
    }

    /// Throws unless every value is in range: the file may have been written by hand.
    func check(path: String) throws {
        for (type, entry) in formation {
            guard Self.isProcessType(type), (0...Self.maximumQuantity).contains(entry.quantity) else {
                throw SpoolError(
                    .invalidSettings, path: path,
                    "\(path): '\(type)=\(entry.quantity)' is not a valid formation (a process type and 0 to "
                        + "\(Self.maximumQuantity) dynos)")
            }
            if let memory = entry.memoryMB, !Self.memoryRange.contains(memory) {
                throw SpoolError(
                    .invalidSettings, path: path,
                    "\(path): \(type) has \(memory) MB of memory; give \(Self.memoryRange.lowerBound) to "
                        + "\(Self.memoryRange.upperBound)")
            }
            if let disk = entry.diskMB, !Self.diskRange.contains(disk) {
                throw SpoolError(
                    .invalidSettings, path: path,
                    "\(path): \(type) has a disk of \(disk) MB; give \(Self.diskRange.lowerBound) to "
                        + "\(Self.diskRange.upperBound)")
            }
        }
        for domain in domains where !Self.isDomain(domain) {
            throw SpoolError(.invalidSettings, path: path, "\(path): '\(domain)' is not a host name")
        }
        for drain in logDrains {
            guard (try? LogDrainURL.parse(drain.url)) != nil, LogDrain.isToken(drain.token) else {
                throw SpoolError(.invalidSettings, path: path, "\(path): '\(drain.url)' is not a drain")
            }
        }
        for (type, rule) in autoscale ?? [:] {
            guard type == "web", (1...Self.maximumQuantity).contains(rule.max), (1...rule.max).contains(rule.min),
                Self.autoscaleTargetRange.contains(rule.p95)
            else {
                throw SpoolError(
                    .invalidSettings, path: path,
                    "\(path): the autoscaling of \(type) is not valid (web only, 1 <= min <= max <= "
                        + "\(Self.maximumQuantity), max 1 or more, p95 1 to 30000 ms)")
            }
        }
        if let healthcheck, !Self.isHealthcheckPath(healthcheck) {
            throw SpoolError(
                .invalidSettings, path: path, "\(path): the health check '\(healthcheck)' is not a path starting with /"
            )
        }
    }

    // MARK: - What the values may be

    /// A Procfile process type (``ProcessType/isValid(_:)``).
    public static func isProcessType(_ name: String) -> Bool { ProcessType.isValid(name) }

    /// A lowercase DNS host name: labels of `[a-z0-9-]` (not starting or ending with `-`), dot-separated, at most
    /// 253 characters; `*.` may start it (a wildcard domain).
    public static func isDomain(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        guard !name.isEmpty, host.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
        }
    }

    /// A request path: starts with `/`, printable ASCII without spaces, at most 256 characters.
    public static func isHealthcheckPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.count <= 256 && path.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }
}
