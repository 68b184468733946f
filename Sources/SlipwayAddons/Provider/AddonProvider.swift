import Foundation

/// The contract between the door's add-on commands and the services that hold add-ons' data (docs/addons.md,
/// "The provider contract"). The commands never know how a service works: they ask a provider, by the name recorded
/// with each add-on, to make the add-on's resources, to say how an app reaches them, to copy their data out and back,
/// and to remove them. A new provider (another server, another service) is one more type conforming to this, listed
/// in ``AddonProviders``; the commands do not change.
///
/// Every method either does all of what it says or leaves nothing behind (a role without its database, a process
/// without its add-on), and throws ``AddonError`` with one line for the user.
public protocol AddonProvider: Sendable {
    /// The name recorded with each add-on it made (`local-postgresql`, `external-postgresql`).
    var name: String { get }
    /// The kind of add-on it makes.
    var kind: AddonKind { get }

    /// Makes the resources of the new add-on `addon` (a valid add-on name, unused) and returns what reaches them.
    func provision(_ addon: String) throws(AddonError) -> AddonCredentials

    /// Removes every resource of `addon`, its data included. Removing what is already gone succeeds, so a destroy
    /// that was interrupted can be run again.
    func deprovision(_ addon: String, _ credentials: AddonCredentials) throws(AddonError)

    /// The URL an app is given (`DATABASE_URL`): scheme, user, password, the address dynos reach, database, options.
    func url(_ credentials: AddonCredentials) -> String

    /// Writes a full copy of the add-on's data to the file `path` (created; the caller removes it on failure).
    func backup(_ addon: String, _ credentials: AddonCredentials, to path: String) throws(AddonError)

    /// Replaces the add-on's data with the copy in the file `path` that ``backup(_:_:to:)`` wrote.
    func restore(_ addon: String, _ credentials: AddonCredentials, from path: String) throws(AddonError)

    /// Whether the service answers now (`addons:info` shows it).
    func isAvailable() -> Bool
}

/// What reaches one add-on's data: recorded with the add-on (readable only by the door's user) and turned into a URL
/// by its provider.
public struct AddonCredentials: Codable, Sendable, Equatable {
    /// The address dynos connect to (a host name or IPv4 address).
    public var host: String
    public var port: UInt16
    /// The database name (PostgreSQL); empty for Redis.
    public var database: String
    /// The role (PostgreSQL) or user (Redis).
    public var user: String
    public var password: String

    public init(host: String, port: UInt16, database: String, user: String, password: String) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// A random password: 32 hexadecimal digits (128 bits), safe in a URL and in an SQL string literal.
    public static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
