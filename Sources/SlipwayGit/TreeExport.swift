import CGit2

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
    public func exportTree(of revision: String, to directory: String) throws -> ExportReport {
        let tree = try lookupTree(revision)
        defer { git_tree_free(tree) }
        try checkTree(tree, path: "", depth: 0)

        let root = openDirectory(directory)
        guard root >= 0 else { throw GitError.system("open", errno, path: directory) }
        defer { close(root) }
        try requireEmpty(root, path: directory)

        var report = ExportReport()
        try writeTree(tree, into: root, path: "", depth: 0, report: &report)
        return report
    }

    /// Folders deeper than this are refused: each level holds a file descriptor and a stack frame.
    static var maximumTreeDepth: Int { 256 }

    /// Rejects, before anything is written, any entry that ``writeTree(_:into:path:depth:report:)`` would refuse.
    private func checkTree(_ tree: OpaquePointer, path: String, depth: Int) throws {
        try checkDepth(depth, path: path)
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            let entryPath = try checkedPath(entry, in: path)
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                let subtree = try lookupTree(entry, path: entryPath)
                defer { git_tree_free(subtree) }
                try checkTree(subtree, path: entryPath, depth: depth + 1)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE, GIT_FILEMODE_LINK, GIT_FILEMODE_COMMIT:
                break
            default:
                throw unsupportedMode(entry, path: entryPath)
            }
        }
    }

    /// Writes every entry of `tree` into the folder open as `directory`.
    private func writeTree(
        _ tree: OpaquePointer, into directory: Int32, path: String, depth: Int, report: inout ExportReport
    ) throws {
        try checkDepth(depth, path: path)
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index), let name = git_tree_entry_name(entry) else {
                continue
            }
            // Checked again here, so this function is safe on its own, not only after checkTree.
            let entryPath = try checkedPath(entry, in: path)
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                let subtree = try lookupTree(entry, path: entryPath)
                defer { git_tree_free(subtree) }
                guard mkdirat(directory, name, 0o755) == 0 else {
                    throw GitError.system("mkdirat", errno, path: entryPath)
                }
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw GitError.system("openat", errno, path: entryPath) }
                defer { close(child) }
                guard fchmod(child, 0o755) == 0 else { throw GitError.system("fchmod", errno, path: entryPath) }
                report.directoryCount += 1
                try writeTree(subtree, into: child, path: entryPath, depth: depth + 1, report: &report)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                let mode: mode_t = git_tree_entry_filemode(entry) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0o755 : 0o644
                let blob = try lookupBlob(entry, path: entryPath)
                defer { git_blob_free(blob) }
                let size = Int(git_blob_rawsize(blob))
                let content = UnsafeRawBufferPointer(start: git_blob_rawcontent(blob), count: size)
                try writeFile(content, named: name, in: directory, mode: mode, path: entryPath)
                report.fileCount += 1
                report.byteCount += Int64(size)
                if Self.isLFSPointer(content) { report.lfsPointers.append(entryPath) }
            case GIT_FILEMODE_LINK:
                let blob = try lookupBlob(entry, path: entryPath)
                defer { git_blob_free(blob) }
                let content = UnsafeRawBufferPointer(
                    start: git_blob_rawcontent(blob), count: Int(git_blob_rawsize(blob)))
                try makeSymlink(to: content, named: name, in: directory, path: entryPath)
                report.symlinkCount += 1
            case GIT_FILEMODE_COMMIT:
                report.skippedSubmodules.append(entryPath)
            default:
                throw unsupportedMode(entry, path: entryPath)
            }
        }
    }

    /// Creates a new file (never replacing or following anything) and writes `content` with as few `write`s as
    /// the kernel allows.
    private func writeFile(
        _ content: UnsafeRawBufferPointer, named name: UnsafePointer<CChar>, in directory: Int32, mode: mode_t,
        path: String
    ) throws {
        let fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw GitError.system("openat", errno, path: path) }
        var closed = false
        defer { if !closed { close(fd) } }
        guard fchmod(fd, mode) == 0 else { throw GitError.system("fchmod", errno, path: path) }
        var offset = 0
        while offset < content.count, let base = content.baseAddress {
            // Linux writes at most about 2 GiB per call; ask for 1 GiB at a time.
            let written = write(fd, base + offset, min(content.count - offset, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw GitError.system("write", errno, path: path)
            }
            offset += written
        }
        closed = true
        guard close(fd) == 0 else { throw GitError.system("close", errno, path: path) }
    }

    /// Creates a symlink whose target is `target`'s bytes, exactly, without ever resolving it.
    private func makeSymlink(
        to target: UnsafeRawBufferPointer, named name: UnsafePointer<CChar>, in directory: Int32, path: String
    ) throws {
        // A C string cannot hold a NUL; cutting the target there would make a different link than git's.
        guard !target.isEmpty, !target.contains(0) else {
            throw GitError(
                kind: .unsafeTreeEntry, function: "exportTree", returnCode: -1,
                message: "symlink '\(path)' has an empty target or one containing a NUL byte")
        }
        var cTarget = [CChar](repeating: 0, count: target.count + 1)
        cTarget.withUnsafeMutableBytes { $0.copyMemory(from: target) }
        guard symlinkat(cTarget, directory, name) == 0 else { throw GitError.system("symlinkat", errno, path: path) }
    }

    /// Throws unless the folder open as `fd` has no entries besides `.` and `..`.
    private func requireEmpty(_ fd: Int32, path: String) throws {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let failure = errno
            if copy >= 0 { close(copy) }
            throw GitError.system("fdopendir", failure, path: path)
        }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." {
                throw GitError(
                    kind: .invalidArgument, function: "exportTree", returnCode: -1,
                    message: "\(path): the export directory must be empty (it contains '\(name)')")
            }
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

    /// The blob an entry points at; the caller frees it with `git_blob_free`.
    private func lookupBlob(_ entry: OpaquePointer, path: String) throws -> OpaquePointer {
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, git_tree_entry_id(entry)), "git_blob_lookup", subject: path)
        guard let blob else { throw GitError.library("git_blob_lookup", -1, subject: path) }
        return blob
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
