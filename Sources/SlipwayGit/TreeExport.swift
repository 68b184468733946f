import CGit2
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What ``Repository/exportTree(of:to:)`` wrote and what it left out.
public struct ExportReport: Sendable, Equatable {
    /// Regular files written (executable or not).
    public var fileCount: Int = 0
    /// Symbolic links created.
    public var symlinkCount: Int = 0
    /// Folders created, not counting the export directory itself.
    public var directoryCount: Int = 0
    /// Bytes written to regular files.
    public var byteCount: Int64 = 0
    /// Paths of submodules (gitlinks, mode 160000), which were not written: their content is in another repository.
    public var skippedSubmodules: [String] = []
    /// Paths of files that are Git LFS pointers: written as the small pointer text, nothing fetched.
    public var lfsPointers: [String] = []

    /// Creates an empty report.
    public init() {}
}

/// The most a pushed tree may hold. Each is checked before anything is written, so a tree over a limit writes
/// nothing; each refusal names the limit and the setting that raises it.
public struct ExportLimits: Sendable, Equatable {
    /// Files and symlinks.
    public var files = 200_000
    /// Bytes of one entry's path inside the tree.
    public var pathBytes = 1024
    /// Folders nested in one another (at most 256, which bounds the export's descriptors and stack).
    public var depth = 64
    /// Bytes of all files together.
    public var totalBytes: Int64 = 4 << 30

    public init() {}

    /// The limits as the environment sets them: `SLIPWAY_MAX_TREE_FILES`, `SLIPWAY_MAX_TREE_PATH`,
    /// `SLIPWAY_MAX_TREE_DEPTH`, `SLIPWAY_MAX_TREE_MB`; unset or malformed values keep the defaults.
    public static func fromEnvironment(_ environment: [String: String]) -> ExportLimits {
        var limits = ExportLimits()
        func number(_ key: String) -> Int? { environment[key].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }
        if let value = number("SLIPWAY_MAX_TREE_FILES") { limits.files = value }
        if let value = number("SLIPWAY_MAX_TREE_PATH") { limits.pathBytes = value }
        if let value = number("SLIPWAY_MAX_TREE_DEPTH") { limits.depth = min(value, 256) }
        if let value = number("SLIPWAY_MAX_TREE_MB") { limits.totalBytes = Int64(value) << 20 }
        return limits
    }
}

extension Repository {
    /// Writes the tree of `revision` (a commit, or anything that peels to a tree) into `directory`, which must
    /// exist and be empty.
    ///
    /// Files get mode 0644 or 0755 as git records them, folders 0755, symlinks are created as symlinks whose target
    /// is the blob's content (never followed), and submodules are skipped and listed in the report. The modes are
    /// set exactly, whatever the process umask.
    ///
    /// Nothing is ever written outside `directory`. The whole tree is checked before anything is written, and an
    /// entry whose name is empty, `.`, `..`, contains `/`, or is `.git` in any case makes the call throw a
    /// ``GitError`` of kind ``GitError/Kind/unsafeTreeEntry`` naming its path. Every file and folder is then created
    /// relative to its parent's file descriptor with `O_NOFOLLOW` and `O_EXCL`, so no symlink, whether in the tree
    /// or raced in, can redirect a write. On any other failure the directory may be left partly filled.
    ///
    /// Folders and symlinks are created on the calling thread in tree order; regular files are read and written by
    /// `threads` threads, each with its own handle on the repository (libgit2 objects are not shared between
    /// threads). The result does not depend on the number of threads.
    ///
    /// A tree over one of `limits` throws a ``GitError`` of kind ``GitError/Kind/limitExceeded`` before anything is
    /// written.
    public func exportTree(
        of revision: String, to directory: String, threads: Int = Repository.defaultExportThreads,
        limits: ExportLimits = ExportLimits()
    ) throws -> ExportReport {
        let plan = try plan(of: revision, limits: limits)
        let root = openDirectory(directory)
        guard root >= 0 else { throw GitError.system("open", errno, path: directory) }
        defer { close(root) }
        try requireEmpty(root, path: directory)

        return try TreeWriter(plan: plan, repository: self, threads: threads).write(into: root)
    }

    /// Checks the tree of `revision` as ``exportTree(of:to:threads:limits:)`` does before it writes anything (entry
    /// names, modes and `limits`), and writes nothing: for what a push stores without building it.
    public func checkTree(of revision: String, limits: ExportLimits = ExportLimits()) throws {
        _ = try plan(of: revision, limits: limits)
    }

    /// What exporting the tree of `revision` writes, every entry checked against `limits` first.
    private func plan(of revision: String, limits: ExportLimits) throws -> ExportPlan {
        let tree = try lookupTree(revision)
        defer { git_tree_free(tree) }
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, handle), "git_repository_odb", subject: path)
        defer { git_odb_free(odb) }
        var plan = ExportPlan()
        var tally = Tally(limits: limits, odb: odb)
        try addToPlan(tree, plan: &plan, path: "", depth: 0, tally: &tally)
        return plan
    }

    /// The number of threads ``exportTree(of:to:threads:)`` uses when none is given: the processors online.
    public static var defaultExportThreads: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Folders deeper than this are refused: each level holds a file descriptor and a stack frame.
    static var maximumTreeDepth: Int { 256 }

    /// Checks every entry of `tree` and, below it, of its subtrees, and appends what to write to `plan`, in tree
    /// order. Nothing is written here, so a refused entry anywhere means nothing at all is written.
    private func addToPlan(
        _ tree: OpaquePointer, plan: inout ExportPlan, path: String, depth: Int, tally: inout Tally
    ) throws {
        try checkDepth(depth, path: path)
        try tally.folder(depth: depth, path: path)
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index), let cName = git_tree_entry_name(entry) else {
                continue
            }
            let entryPath = try checkedPath(entry, in: path)
            try tally.path(entryPath)
            let name = Array(UnsafeBufferPointer(start: cName, count: strlen(cName) + 1))
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                let subtree = try lookupTree(entry, path: entryPath)
                defer { git_tree_free(subtree) }
                plan.steps.append(.enterFolder(name: name, path: entryPath))
                try addToPlan(subtree, plan: &plan, path: entryPath, depth: depth + 1, tally: &tally)
                plan.steps.append(.leaveFolder)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                let executable = git_tree_entry_filemode(entry) == GIT_FILEMODE_BLOB_EXECUTABLE
                try tally.file(git_tree_entry_id(entry), path: entryPath)
                plan.steps.append(
                    .file(
                        ExportPlan.File(
                            name: name, path: entryPath, id: git_tree_entry_id(entry).pointee,
                            mode: executable ? 0o755 : 0o644)))
            case GIT_FILEMODE_LINK:
                try tally.file(nil, path: entryPath)
                plan.steps.append(.symlink(name: name, path: entryPath, id: git_tree_entry_id(entry).pointee))
            case GIT_FILEMODE_COMMIT:
                plan.steps.append(.submodule(path: entryPath))
            default:
                throw unsupportedMode(entry, path: entryPath)
            }
        }
    }

    /// Counts what the plan holds against the limits.
    struct Tally {
        let limits: ExportLimits
        let odb: OpaquePointer?
        var files = 0
        var bytes: Int64 = 0

        mutating func folder(depth: Int, path: String) throws {
            guard depth <= limits.depth else {
                throw Self.over(
                    "folders are nested more than \(limits.depth) deep (at '\(path)')",
                    setting: "SLIPWAY_MAX_TREE_DEPTH")
            }
        }

        func path(_ path: String) throws {
            guard path.utf8.count <= limits.pathBytes else {
                throw Self.over(
                    "the path '\(path.prefix(80))…' is longer than \(limits.pathBytes) bytes",
                    setting: "SLIPWAY_MAX_TREE_PATH")
            }
        }

        /// Counts a file or symlink; a blob's size (`id`) counts towards the total, read from its header only.
        mutating func file(_ id: UnsafePointer<git_oid>?, path: String) throws {
            files += 1
            guard files <= limits.files else {
                throw Self.over("it has more than \(limits.files) files", setting: "SLIPWAY_MAX_TREE_FILES")
            }
            guard let id, let odb else { return }
            var size = 0
            var type = GIT_OBJECT_ANY
            guard git_odb_read_header(&size, &type, odb, id) == 0 else { return }
            bytes += Int64(size)
            guard bytes <= limits.totalBytes else {
                throw Self.over(
                    "its files hold more than \(limits.totalBytes >> 20) MB", setting: "SLIPWAY_MAX_TREE_MB")
            }
        }

        static func over(_ what: String, setting: String) -> GitError {
            GitError(
                kind: .limitExceeded, function: "exportTree", returnCode: -1,
                message: "the pushed tree is too large: \(what); make it smaller (.slugignore does not help here: "
                    + "the whole tree is extracted first), or ask the operator to raise \(setting)")
        }
    }

    /// Throws unless the folder open as `fd` has no entries besides `.` and `..`.
    private func requireEmpty(_ fd: Int32, path: String) throws {
        let names: [[UInt8]]
        do { names = try FileSystem.names(inFolder: fd) } catch {
            throw GitError.system("read", error.errno, path: path)
        }
        if let name = names.first {
            throw GitError(
                kind: .invalidArgument, function: "exportTree", returnCode: -1,
                message:
                    "\(path): the export directory must be empty (it contains '\(String(decoding: name, as: UTF8.self))')"
            )
        }
    }

    /// The entry's path under `parent`, after refusing names that could escape the export directory or plant a
    /// repository in it.
    private func checkedPath(_ entry: OpaquePointer, in parent: String) throws -> String {
        guard let cName = git_tree_entry_name(entry) else {
            throw unsafeEntry("(no name)", in: parent, why: "has no name")
        }
        let bytes = UnsafeRawBufferPointer(start: cName, count: strlen(cName))
        let name = String(decoding: bytes, as: UTF8.self)
        // A NUL cannot appear: libgit2 hands names over as C strings, so the name ends at the first NUL.
        if bytes.isEmpty { throw unsafeEntry(name, in: parent, why: "has an empty name") }
        if bytes.contains(UInt8(ascii: "/")) { throw unsafeEntry(name, in: parent, why: "contains '/'") }
        if name == "." || name == ".." { throw unsafeEntry(name, in: parent, why: "would leave its folder") }
        if bytes.count == 4, String(decoding: bytes, as: UTF8.self).lowercased() == ".git" {
            throw unsafeEntry(name, in: parent, why: "is a .git folder")
        }
        return parent.isEmpty ? name : "\(parent)/\(name)"
    }

    private func unsafeEntry(_ name: String, in parent: String, why: String) -> GitError {
        let shown = parent.isEmpty ? name : "\(parent)/\(name)"
        return GitError(
            kind: .unsafeTreeEntry, function: "exportTree", returnCode: -1,
            message: "refusing tree entry '\(shown)': it \(why)")
    }

    private func unsupportedMode(_ entry: OpaquePointer, path: String) -> GitError {
        let raw = String(git_tree_entry_filemode_raw(entry).rawValue, radix: 8)
        return GitError(
            kind: .unsafeTreeEntry, function: "exportTree", returnCode: -1,
            message: "refusing tree entry '\(path)': unknown file mode \(raw)")
    }

    private func checkDepth(_ depth: Int, path: String) throws {
        if depth > Self.maximumTreeDepth {
            throw GitError(
                kind: .unsafeTreeEntry, function: "exportTree", returnCode: -1,
                message: "refusing '\(path)': folders nested more than \(Self.maximumTreeDepth) deep")
        }
    }

    /// The tree of the commit `revision` names (or the tree itself); the caller frees it with `git_tree_free`.
    private func lookupTree(_ revision: String) throws -> OpaquePointer {
        var object: OpaquePointer?
        try check(git_revparse_single(&object, handle, revision), "git_revparse_single", subject: revision)
        if git_object_type(object) == GIT_OBJECT_TREE, let object { return object }
        git_object_free(object)
        // Through the commit rather than git_object_peel straight to a tree: peeling replaces libgit2's message
        // about a corrupt tree with a vague "can not be peeled".
        let commit = try lookupCommit(revision)
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commit), "git_commit_tree", subject: revision)
        guard let tree else { throw GitError.library("git_commit_tree", -1, subject: revision) }
        return tree
    }

    /// The tree an entry points at; the caller frees it with `git_tree_free`.
    private func lookupTree(_ entry: OpaquePointer, path: String) throws -> OpaquePointer {
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, git_tree_entry_id(entry)), "git_tree_lookup", subject: path)
        guard let tree else { throw GitError.library("git_tree_lookup", -1, subject: path) }
        return tree
    }

    /// Whether a file's content is a Git LFS pointer (the first line of the pointer format).
    static func isLFSPointer(_ content: UnsafeRawBufferPointer) -> Bool {
        let prefix = "version https://git-lfs.github.com/spec/v1".utf8
        return content.count >= prefix.count && zip(content, prefix).allSatisfy { $0 == $1 }
    }
}

/// Opens the export directory itself. It may be reached through a symlink (such as `/tmp` on some systems); only
/// what is created inside it is held to `O_NOFOLLOW`.
private func openDirectory(_ path: String) -> Int32 {
    open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
}
