/// The phase of a build, as shown in the failure summary and used for exit-code bands.
public enum BuildPhase: String, Sendable {
    case setup, detect, fetch, compile, release, pack
}

/// Why a build failed. Each code has a fixed exit status, grouped in bands by phase so that scripts and the push hook
/// can tell failures apart:
///
/// | band | phase |
/// |---|---|
/// | 10–19 | input: the app, its config, the output folders |
/// | 20–29 | detect |
/// | 30–39 | fetching buildpacks |
/// | 50–59 | compile |
/// | 60–69 | release and process types |
/// | 70–79 | packing the slug and writing the manifest |
/// | 128+N | interrupted by signal N |
public struct BuildError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The app directory is missing or not a directory.
        case appDirectoryInvalid
        /// A config var, `--env` or `--env-file` entry is malformed.
        case configInvalid
        /// The output or cache directory cannot be created or written.
        case outputUnwritable
        /// No built-in buildpack detected the app.
        case noBuildpackDetected
        /// A buildpack chosen explicitly did not detect the app.
        case appNotCompatible
        /// A buildpack's detect step ran past the timeout.
        case detectTimedOut
        /// A buildpack is missing, incomplete or not executable.
        case buildpackInvalid
        /// A buildpack's git URL could not be cloned or its ref checked out.
        case buildpackFetchFailed
        /// `bin/compile` exited non-zero.
        case compileFailed
        /// `bin/compile` ran past the timeout.
        case compileTimedOut
        /// A buildpack was stopped by a resource guard (the disk holding the build nearly full).
        case buildStopped
        /// `bin/release` exited non-zero.
        case releaseFailed
        /// `bin/release` printed YAML that does not parse or has the wrong shape.
        case releaseYAMLInvalid
        /// `bin/release` ran past the timeout.
        case releaseTimedOut
        /// The Procfile is malformed.
        case procfileInvalid
        /// Writing the slug or manifest failed.
        case packFailed
        /// The compressed slug is larger than the limit.
        case slugTooLarge
        /// The build directory holds something a slug cannot carry (a FIFO, socket or device).
        case unsupportedFile
        /// The build was interrupted by a signal (Ctrl-C, a hang-up, a termination request).
        case interrupted(signal: Int32)

        /// The process exit status for this failure.
        public var exitCode: Int32 {
            switch self {
            case .appDirectoryInvalid: 10
            case .configInvalid: 11
            case .outputUnwritable: 12
            case .noBuildpackDetected: 20
            case .appNotCompatible: 21
            case .detectTimedOut: 22
            case .buildpackInvalid: 30
            case .buildpackFetchFailed: 31
            case .compileFailed: 50
            case .compileTimedOut: 51
            case .buildStopped: 52
            case .releaseFailed: 60
            case .releaseYAMLInvalid: 61
            case .releaseTimedOut: 62
            case .procfileInvalid: 65
            case .packFailed: 70
            case .slugTooLarge: 71
            case .unsupportedFile: 72
            case .interrupted(let signal): 128 + signal
            }
        }

        /// The phase this failure belongs to.
        public var phase: BuildPhase {
            switch self {
            case .appDirectoryInvalid, .configInvalid, .outputUnwritable, .interrupted: .setup
            case .noBuildpackDetected, .appNotCompatible, .detectTimedOut: .detect
            case .buildpackInvalid, .buildpackFetchFailed: .fetch
            case .compileFailed, .compileTimedOut, .buildStopped: .compile
            case .releaseFailed, .releaseYAMLInvalid, .releaseTimedOut, .procfileInvalid: .release
            case .packFailed, .slugTooLarge, .unsupportedFile: .pack
            }
        }
    }

    public var code: Code
    /// What happened, in one line a user can act on.
    public var message: String
    /// What to do about it, when there is something to say.
    public var hint: String?
    /// The phase the build was in; usually `code.phase`, but an interruption records where it struck.
    public var phase: BuildPhase
    /// The buildpack that was running, by display name, when one was.
    public var buildpack: String?
    /// The buildpack process's exit status, when one exited.
    public var processStatus: Int32?

    public init(
        _ code: Code, _ message: String, hint: String? = nil, phase: BuildPhase? = nil, buildpack: String? = nil,
        processStatus: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.phase = phase ?? code.phase
        self.buildpack = buildpack
        self.processStatus = processStatus
    }

    public var description: String { hint.map { "\(message) \($0)" } ?? message }
}
