import Foundation
import SlipwaySystem

/// Redis add-ons on this machine: a server process per add-on (``RedisServers``), so one app's password reaches
/// one app's keys only.
public struct LocalRedisProvider: AddonProvider {
    public let name = "local-redis"
    public let kind = AddonKind.redis
    let servers: RedisServers
    let root: String

    public init(root: String) throws(AddonError) {
        servers = try RedisServers(root: root)
        self.root = root
    }

    public func provision(_ addon: String) throws(AddonError) -> AddonCredentials {
        let port = try AddonNetwork.freePort()
        let password = AddonCredentials.randomPassword()
        do throws(AddonError) {
            try servers.make(addon, port: port, password: password)
            try AddonPorts(root: root).add(port)
        } catch {
            try? servers.remove(addon)
            throw error
        }
        return AddonCredentials(
            host: AddonNetwork.hostAddress(root: root), port: port, database: "", user: "default", password: password)
    }

    public func deprovision(_ addon: String, _ credentials: AddonCredentials) throws(AddonError) {
        try servers.remove(addon)
        try AddonPorts(root: root).remove(credentials.port)
    }

    public func url(_ credentials: AddonCredentials) -> String {
        "redis://\(credentials.user):\(credentials.password)@\(credentials.host):\(credentials.port)"
    }

    public func backup(_ addon: String, _ credentials: AddonCredentials, to path: String) throws(AddonError) {
        throw AddonError(.failed, "Redis add-ons have no backups: keep what must last in PostgreSQL")
    }

    public func restore(_ addon: String, _ credentials: AddonCredentials, from path: String) throws(AddonError) {
        throw AddonError(.failed, "Redis add-ons have no backups: keep what must last in PostgreSQL")
    }

    public func isAvailable() -> Bool { !servers.names().isEmpty }
}
