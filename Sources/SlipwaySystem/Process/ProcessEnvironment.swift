#if canImport(Glibc)
    import Glibc
#endif

/// This process's own environment, for the few places that must change it: a forced command that must not keep what
/// an SSH client sent. Changing the environment is not thread-safe in C, so ``replace(with:)`` is for the start of a
/// process, before it starts any thread.
public enum ProcessEnvironment {
    /// Makes `variables` the whole environment: everything else is removed. Foundation's `ProcessInfo` reads the
    /// environment afresh at every call, so every later read sees only these.
    public static func replace(with variables: [String: String]) throws(SystemError) {
        guard clearenv() == 0 else { throw SystemError("clear the environment", errno: errno) }
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, !name.contains("="), setenv(name, value, 1) == 0 else {
                throw SystemError("set the environment variable", name, errno: errno)
            }
        }
    }

    /// The user this process runs as, from the user database (not from `$USER` or `$HOME`, which whoever started
    /// the process chose).
    public struct Account: Sendable, Equatable {
        public var name: String
        public var home: String

        public init(name: String, home: String) {
            self.name = name
            self.home = home
        }
    }

    /// The account of the real user id, or nil when the user database has no entry for it.
    public static func account() -> Account? {
        guard let entry = getpwuid(getuid()) else { return nil }
        return Account(name: String(cString: entry.pointee.pw_name), home: String(cString: entry.pointee.pw_dir))
    }
}
