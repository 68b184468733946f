/// The kinds of add-on there are: the name `addons:create` takes, and the config var an attachment sets by default.
public enum AddonKind: String, Codable, Sendable, CaseIterable {
    case postgresql
    case redis

    /// The attachment name without `--as`: `DATABASE` (so `DATABASE_URL`) or `REDIS` (`REDIS_URL`), Heroku's.
    public var defaultAttachment: String {
        switch self {
        case .postgresql: "DATABASE"
        case .redis: "REDIS"
        }
    }

    /// The kind `word` names (`postgresql`, or Heroku's `heroku-postgresql`, `postgres`; `redis`, `heroku-redis`).
    public static func named(_ word: String) throws(AddonError) -> AddonKind {
        switch word.lowercased() {
        case "postgresql", "postgres", "heroku-postgresql": return .postgresql
        case "redis", "heroku-redis": return .redis
        default:
            throw AddonError(
                .invalidValue,
                "'\(AddonNames.shown(word))' is not a kind of add-on: use postgresql or redis")
        }
    }
}
