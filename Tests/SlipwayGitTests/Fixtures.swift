import Foundation
import SlipwayTestSupport

/// A git command in a test fixture exited with a non-zero status.
struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `git args` in `directory` and returns its trimmed stdout; a non-zero exit throws with git's output.
@discardableResult
func gitOK(_ args: [String], in directory: String, environment: [String: String] = [:]) throws -> String {
    let result = try git(args, in: directory, environment: environment)
    guard result.status == 0 else {
        throw FixtureError(description: "git \(args.joined(separator: " ")) exited \(result.status): \(result.output)")
    }
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Creates a non-bare repository with `main` as its branch.
func makeWorkingRepo(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try gitOK(["init", "-q", "-b", "main", path], in: path)
}

/// Stages everything in `repo` and commits it; returns the new commit's sha.
@discardableResult
func commitAll(_ repo: String, _ message: String, environment: [String: String] = [:]) throws -> String {
    try gitOK(["add", "-A"], in: repo)
    try gitOK(["commit", "-q", "-m", message], in: repo, environment: environment)
    return try gitOK(["rev-parse", "HEAD"], in: repo)
}

/// One entry of a tree written byte by byte, so tests can build trees git itself would refuse to make.
struct RawTreeEntry {
    var mode: String
    var name: [UInt8]
    var sha: String

    init(_ mode: String, _ name: String, _ sha: String) {
        self.mode = mode
        self.name = Array(name.utf8)
        self.sha = sha
    }
}

/// Writes a tree object holding exactly `entries`, in that order, into `repo`; returns its sha.
///
/// `git hash-object --literally` skips git's own checks, which is the point: the code under test must not rely on
/// the repository being well-formed.
func writeRawTree(_ entries: [RawTreeEntry], in repo: String, scratch: ScratchDirectory) throws -> String {
    var bytes: [UInt8] = []
    for entry in entries {
        bytes += Array("\(entry.mode) ".utf8) + entry.name + [0]
        var hex = Substring(entry.sha)
        while !hex.isEmpty {
            guard let byte = UInt8(hex.prefix(2), radix: 16) else { throw FixtureError(description: "bad sha") }
            bytes.append(byte)
            hex = hex.dropFirst(2)
        }
    }
    let file = scratch.url("tree-\(UUID().uuidString)")
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    return try gitOK(["hash-object", "-t", "tree", "-w", "--literally", file], in: repo)
}

/// Writes `text` as a blob into `repo`; returns its sha.
func writeBlob(_ text: String, in repo: String, scratch: ScratchDirectory) throws -> String {
    let file = try scratch.write("blob-\(UUID().uuidString)", text)
    return try gitOK(["hash-object", "-w", file], in: repo)
}

/// `lstat` of `path`: its type and permission bits, or nil when nothing is there.
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode
}

/// The target of the symlink at `path`, or nil when it is not a symlink.
func linkTarget(_ path: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// Every path under `directory`, relative to it, sorted; symlinks are listed, not followed.
func listTree(_ directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    return enumerator.compactMap { $0 as? String }.sorted()
}
