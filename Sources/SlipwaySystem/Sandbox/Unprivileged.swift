#if canImport(Glibc)
    import Glibc
#endif

extension Sandbox.User {
    /// The command line that runs `executable` with `arguments` as this user, from root: its uid and gid, no
    /// supplementary groups, no way back to privileges (`setpriv --no-new-privs`), and of root's capabilities only
    /// `capabilities` (names such as `net_bind_service`, for a port below 1024), kept as ambient capabilities so that
    /// they survive the exec, and nothing else in the bounding set.
    public func command(_ executable: String, _ arguments: [String], keeping capabilities: [String] = []) -> [String] {
        var command = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups"]
        let kept = (["-all"] + capabilities.map { "+\($0)" }).joined(separator: ",")
        command += ["--inh-caps=\(kept)", "--ambient-caps=\(kept)", "--bounding-set=\(kept)", "--no-new-privs", "--"]
        return command + [executable] + arguments
    }
}
