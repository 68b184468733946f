import Foundation
import SlipwaySystem

/// The providers the operator configured, `<root>/addons/providers.json` (docs/addons.md, "Servers elsewhere"):
/// `{"postgresql": {"adminURL": "postgres://admin:…@db.internal:5432/postgres?sslmode=require"}, "redis": {"adminURL":
/// "redis://admin:…@cache.internal:6379"}}`. Without it, or without a kind in it, add-ons of that kind are made on
/// this machine.
struct ProviderSettings: Codable, Sendable {
    struct External: Codable, Sendable {
        var adminURL: String
    }

    var postgresql: External?
    var redis: External?

    /// The settings of the server at `root`; none when the file is missing.
    static func load(root: String) throws(AddonError) -> ProviderSettings {
        let path = AddonLayout(root: root).providers
        guard let bytes = (try? FileSystem.read(path)).flatMap({ $0 }) else { return ProviderSettings() }
        do { return try JSONDecoder().decode(ProviderSettings.self, from: bytes) } catch {
            throw AddonError(
                .failed, "the server's add-on providers are misconfigured: the operator checks providers.json")
        }
    }

    /// The external PostgreSQL provider, when one is configured.
    func externalPostgres(root: String) throws(AddonError) -> ExternalPostgresProvider? {
        guard let text = postgresql?.adminURL else { return nil }
        guard let url = AdminURL(text) else {
            throw AddonError(
                .failed, "the server's PostgreSQL admin URL is not valid: the operator checks providers.json")
        }
        return ExternalPostgresProvider(admin: url, root: root)
    }

    /// The external Redis provider, when one is configured.
    func externalRedis() throws(AddonError) -> ExternalRedisProvider? {
        guard let text = redis?.adminURL else { return nil }
        guard let url = RedisAdminURL(text) else {
            throw AddonError(.failed, "the server's Redis admin URL is not valid: the operator checks providers.json")
        }
        return ExternalRedisProvider(admin: url)
    }
}
