public import SlipwaySystem

/// Every error of the door side: a refusal at the SSH or HTTP door, in the access files or in a management command;
/// a push the server refused or could not take; a door server that cannot start or go on.
///
/// It carries the ``lines`` the user is shown (one, or a few for a push) and, where a system call failed, the
/// ``systemError`` itself. The door prints them on stderr (never stdout, which belongs to git's protocol) as
/// `slipway: <line>`, so every line says what was wrong and, where there is one, what to do instead.
public struct DoorError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of error this is, for callers that react to one kind (a lost race to create an app, the HTTP status
    /// of a refusal).
    public enum Code: String, Sendable {
        // Refusals at the door and in management commands.

        /// The SSH command is not a `git push` or `git clone` the door serves.
        case notGitCommand
        /// An app or user name breaks the naming rule.
        case invalidName
        /// A public key or an authorized_keys setting cannot be used.
        case invalidKey
        /// The key is already authorized.
        case duplicateKey
        /// The user may not use the app, or the app does not exist (the same message, on purpose).
        case noAccess
        /// An app of that name exists already (another creator won).
        case appExists
        /// The app, user or build asked for does not exist.
        case notFound
        /// A file of the server could not be read or written.
        case storage
        /// A management command cannot be split into words (an unclosed quote, NUL, too long).
        case malformedCommand
        /// The first word is not a command the door serves.
        case unknownCommand
        /// A command got the wrong number of arguments or an option it does not take.
        case usage
        /// An argument breaks its rule: a config var name, a setting, a release version.
        case invalidValue
        /// The command cannot run now (no build to cancel, nothing to roll back to).
        case notPossible
        /// A webhook delivery's signature or token does not match the app's webhook secret (HTTP 401).
        case badSignature
        /// A webhook delivery's body is not the forge's push payload (HTTP 400).
        case malformedDelivery

        // Pushes and the door servers: their lines are sentences of their own, without `slipway: ` (see
        // ``DoorError/isFailure``).

        /// The push breaks a rule of the server (it deletes the deploy branch, its tree is unsafe, its build dir is
        /// missing, the branch moved while it waited), or git gave the hook input it does not understand.
        case pushRefused
        /// The server could not take the push: a lock, build log, repository, slug or release it could not make,
        /// find or publish.
        case pushFailed
        /// The app's lock or a build slot stayed taken for the whole wait.
        case busy
        /// The push was cancelled (builds:cancel, a signal, a hang-up) while it waited or built.
        case cancelled
        /// The server's own settings are wrong or missing (its hook scripts, build settings, spool, `--listen`,
        /// TLS files, host key): its operator must fix them.
        case configuration
        /// An app's release ledger has a line a human must repair: not a valid entry (other than a torn last line),
        /// or a version not above the one before. Nothing is appended to it until then.
        case corruptLedger
        /// Reading or appending to an app's release ledger failed in a system call (``DoorError/systemError``).
        case ledgerFailed
        /// The entry given to the release ledger to append has another version than the one it was given: a defect
        /// of the caller. Nothing was appended and the version is not used up.
        case wrongLedgerVersion
        /// A door server cannot start or go on (it cannot listen, or write its host key), or refuses what a client
        /// opened (an SSH channel other than a session).
        case server
    }

    /// The kind of error.
    public var code: Code
    /// The lines shown to the user, without the `slipway: ` the door puts before them.
    public var lines: [String]
    /// The failed system call behind this error, when there is one.
    public var systemError: SystemError?

    /// An error from its lines (without `slipway: `) and the system call that failed, if one did.
    public init(_ code: Code, lines: String..., systemError: SystemError? = nil) {
        self.code = code
        self.lines = lines
        self.systemError = systemError
    }

    /// A refusal from its one line, which starts with `slipway: `.
    public init(_ code: Code, _ message: String) {
        self.init(code, lines: message.hasPrefix(Self.prefix) ? String(message.dropFirst(Self.prefix.count)) : message)
    }

    public static let prefix = "slipway: "

    /// `slipway: ` and the lines joined by spaces: the one line a command prints.
    public var message: String { Self.prefix + text }

    /// The lines joined by spaces, without `slipway: `.
    public var text: String { lines.joined(separator: " ") }

    /// Whether this is a push's or a door server's failure (``Code/pushRefused`` … ``Code/server``) rather than a
    /// refusal at the door. A pre-receive hook shows a failure's lines as they are and a refusal as
    /// `Push rejected: slipway: …`; the HTTP door answers a failure with 503.
    public var isFailure: Bool {
        switch code {
        case .pushRefused, .pushFailed, .busy, .cancelled, .configuration, .corruptLedger, .ledgerFailed,
            .wrongLedgerVersion, .server:
            true
        default: false
        }
    }

    /// A failure's ``text``, as it reads inside another line or a log; a refusal's ``message``.
    public var description: String { isFailure ? text : message }
}

extension DoorError {
    /// The failed system call as a storage error: `slipway: cannot <operation> <path>: <strerror(errno)>`.
    public static func storage(_ failure: SystemError) -> DoorError {
        DoorError(.storage, lines: failure.description, systemError: failure)
    }

    /// `slipway: cannot <what> <path>: <strerror(errno)>`, for a system call that just failed with `errno`.
    public static func storage(_ what: String, _ path: String, errno code: Int32) -> DoorError {
        storage(SystemError(what, path, errno: code))
    }

    /// `slipway: cannot <what> <path>: <strerror>` for `failure`, in the words of the caller's step (`read`, not
    /// the system layer's `open`).
    public static func storage(_ what: String, _ path: String, _ failure: SystemError) -> DoorError {
        DoorError(.storage, lines: SystemError(what, path, errno: failure.errno).description, systemError: failure)
    }
}
