public import SlipwayDoorRecords
import SlipwaySpool

/// A request of git's smart HTTP protocol the HTTP door serves: which service, on which app, and which of the two
/// steps (the ref advertisement `GET …/info/refs?service=…`, or the exchange `POST …/git-receive-pack`).
public struct HTTPGitRequest: Equatable, Sendable {
    /// The two steps of a smart HTTP fetch or push.
    public enum Step: Sendable, Equatable {
        /// `GET /<app>.git/info/refs?service=<service>`.
        case advertisement
        /// `POST /<app>.git/<service>`.
        case exchange
    }

    public var git: GitRequest
    public var step: Step

    /// The path of the request below the app's folder, as `git http-backend` expects it in `PATH_INFO` for the
    /// app's repository (`/repo.git/info/refs`).
    public var repositoryPath: String {
        step == .advertisement ? "/repo.git/info/refs" : "/repo.git/\(git.service.rawValue)"
    }

    /// The refusal for every path that is not one of the smart protocol's.
    public static let notServed = DoorError(
        .notGitCommand, "slipway: only git push and git clone are served here (remote: https://<host>/<app>.git)")

    /// Parses `method`, `path` (without the query) and `query` into a request, or throws ``notServed``; a well-formed
    /// request whose app name breaks the rule throws the ``AppName`` error. A pure function, as ``SSHCommand/parse(_:)``.
    ///
    /// The app may be written `/<app>` or `/<app>.git`. The dumb protocol (`info/refs` without `service=`, objects
    /// fetched as files) is not served: every request goes through git's own access-checked programs.
    public static func parse(method: String, path: String, query: String) throws -> HTTPGitRequest {
        guard path.utf8.count <= 512, query.utf8.count <= 512 else { throw notServed }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[0].isEmpty else { throw notServed }
        var name = String(segments[1])
        if name.hasSuffix(".git") { name.removeLast(4) }
        let rest = segments.dropFirst(2).joined(separator: "/")
        let request: HTTPGitRequest
        switch (method, rest) {
        case ("GET", "info/refs"):
            let parameters = query.split(separator: "&").filter { $0.hasPrefix("service=") }
            guard parameters.count == 1, let service = GitService(rawValue: String(parameters[0].dropFirst(8))) else {
                throw notServed
            }
            request = HTTPGitRequest(git: GitRequest(service: service, app: name), step: .advertisement)
        case ("POST", GitService.receivePack.rawValue), ("POST", GitService.uploadPack.rawValue):
            guard let service = GitService(rawValue: rest) else { throw notServed }
            request = HTTPGitRequest(git: GitRequest(service: service, app: name), step: .exchange)
        default:
            throw notServed
        }
        guard !name.isEmpty, !name.contains("%") else { throw notServed }
        try AppName.validate(name)
        return request
    }
}
