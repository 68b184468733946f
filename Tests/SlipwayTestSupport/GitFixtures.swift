import Foundation

/// Makes the git repository `name` in `scratch` with `files` (those under `bin/` executable), committed on `main`;
/// returns its path.
public func makeCommittedRepository(in scratch: ScratchDirectory, _ name: String, files: [String: String]) throws
    -> String
{
    let dir = try scratch.makeDirectory(name)
    for (path, contents) in files {
        try scratch.write("\(name)/\(path)", contents, mode: path.hasPrefix("bin/") ? 0o755 : 0o644)
    }
    try git(["init", "-q", "-b", "main"], in: dir)
    try git(["add", "-A"], in: dir)
    try git(["commit", "-q", "-m", "initial"], in: dir)
    return dir
}

/// Writes `contents` to `file` in the repository `repo` and commits it.
public func commitFile(_ repo: String, _ file: String, _ contents: String) throws {
    try Data(contents.utf8).write(to: URL(fileURLWithPath: "\(repo)/\(file)"))
    try git(["add", "-A"], in: repo)
    try git(["commit", "-q", "-m", "change \(file)"], in: repo)
}

/// Makes the git repository `name` in `scratch` holding a copy of the folder `source` (binary files too: a Ruby
/// app's vendor/cache), committed on `main`; returns its path.
public func makeCommittedCopy(in scratch: ScratchDirectory, _ name: String, of source: String) throws -> String {
    let dir = scratch.url(name)
    try FileManager.default.copyItem(atPath: source, toPath: dir)
    try git(["init", "-q", "-b", "main"], in: dir)
    try git(["add", "-A"], in: dir)
    try git(["commit", "-q", "-m", "initial"], in: dir)
    return dir
}
