/// The providers this server has, and which one makes an add-on of each kind.
public enum AddonProviders {
    /// The provider that makes new add-ons of `kind` on the server at `root`.
    public static func provider(for kind: AddonKind, root: String) throws(AddonError) -> any AddonProvider {
        switch kind {
        case .postgresql:
            if let external = try ProviderSettings.load(root: root).externalPostgres(root: root) { return external }
            return try LocalPostgresProvider(root: root)
        case .redis:
            if let external = try ProviderSettings.load(root: root).externalRedis() { return external }
            return try LocalRedisProvider(root: root)
        }
    }

    /// The provider called `name` (recorded with an add-on).
    public static func provider(named name: String, root: String) throws(AddonError) -> any AddonProvider {
        switch name {
        case "local-postgresql": return try LocalPostgresProvider(root: root)
        case "local-redis": return try LocalRedisProvider(root: root)
        case "external-postgresql":
            if let external = try ProviderSettings.load(root: root).externalPostgres(root: root) { return external }
            throw AddonError(.failed, "the add-on's PostgreSQL server is no longer configured on this server")
        case "external-redis":
            if let external = try ProviderSettings.load(root: root).externalRedis() { return external }
            throw AddonError(.failed, "the add-on's Redis server is no longer configured on this server")
        default: throw AddonError(.failed, "the add-on's provider \(name) is not configured on this server")
        }
    }
}
