/// How the runner starts a process of a release, the Heroku way (docs/spool.md, "Running a process"): an empty
/// environment with the release's config vars, then `HOME`, `PORT`, `DYNO` (and `PATH` unless the config sets it)
/// on top; `cd "$HOME"`; every `.profile.d/*.sh` sourced in name order in one bash; then the command under
/// `bash -c`, so `$PORT` and what the scripts exported are expanded.
public struct ProcessLaunch: Equatable, Sendable {
    /// The shell that runs everything.
    public static let bash = "/bin/bash"
    /// `PATH` when the config vars do not set one.
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"
    /// What the outer bash runs: `$1` is the command. The command is an argument, never pasted into the script.
    public static let profileScript = """
        cd "$HOME" || exit 1
        for f in .profile.d/*.sh; do [ -e "$f" ] && . "$f"; done
        exec \(bash) -c "$1"
        """

    /// The program and its arguments (`/bin/bash -c <script> slugrunner <command>`).
    public var arguments: [String]
    /// The whole environment of the process.
    public var environment: [String: String]
    /// The working directory (the app's home).
    public var directory: String
    /// Config var names left out because no process environment can hold them (empty, `=` or NUL inside).
    public var skippedVariables: [String]

    /// The launch of `command` in the unpacked app at `home`, as `dyno` (`web.1`, `run.1`), listening on `port`.
    public init(home: String, command: String, configVars: [String: String], port: UInt16, dyno: String) {
        var environment: [String: String] = [:]
        var skipped: [String] = []
        for (name, value) in configVars {
            if name.isEmpty || name.contains("=") || name.contains("\0") || value.contains("\0") {
                skipped.append(name)
            } else {
                environment[name] = value
            }
        }
        environment["HOME"] = home
        environment["PORT"] = String(port)
        environment["DYNO"] = dyno
        if environment["PATH"] == nil { environment["PATH"] = Self.defaultPath }
        self.arguments = [Self.bash, "-c", Self.profileScript, "slugrunner", command]
        self.environment = environment
        self.directory = home
        self.skippedVariables = skipped.sorted()
    }
}
