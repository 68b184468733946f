import Foundation
import SlipwayTestSupport

/// A language's upstream download site as a test serves it: a folder laid out as go.dev or Eclipse Temurin's API
/// lays out theirs, served by python3's `http.server` on loopback inside a network namespace of the build's own
/// (`unshare -rn`), so the build reaches that server and nothing else. The server is started for each `slugc build`
/// and stopped when it ends; every request it answers is appended to ``log``.
struct UpstreamSite {
    let folder: String
    let log: String
    let port: UInt16

    init(_ scratch: ScratchDirectory, name: String) throws {
        folder = try scratch.makeDirectory("site-\(name)")
        log = scratch.url("site-\(name).log")
        port = try freeLoopbackPort()
        try Data().write(to: URL(fileURLWithPath: log))
    }

    /// The site's URL, as the build sees it.
    var url: String { "http://127.0.0.1:\(port)" }

    /// Writes a file of the site.
    func write(_ relative: String, _ contents: String) throws {
        let path = "\(folder)/\(relative)"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Serves `file` (an archive the test made) at `relative`.
    func link(_ relative: String, to file: String) throws {
        let path = "\(folder)/\(relative)"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: file)
    }

    /// The paths (with their queries) of the GET requests answered so far, in order.
    func requests() throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let start = line.range(of: "\"GET "),
                let end = line.range(of: " HTTP/", range: start.upperBound..<line.endIndex)
            else { return nil }
            return String(line[start.upperBound..<end.lowerBound])
        }
    }

    /// Runs `argv` with no network but this site: in a network namespace of its own with loopback up, the server
    /// started there first (and waited for), stopped when `argv` ends.
    func run(_ argv: [String], environment: [String: String], timeout: TimeInterval = 900) throws -> ToolResult {
        let script = """
            set -u
            ip link set lo up
            /usr/bin/python3 -m http.server "$1" --bind 127.0.0.1 --directory "$2" >/dev/null 2>>"$3" &
            server=$!
            trap 'kill "$server"; wait "$server" 2>/dev/null' EXIT
            until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
                kill -0 "$server" 2>/dev/null || { echo "the test's web server did not start" >&2; exit 70; }
                sleep 0.05
            done
            shift 3
            "$@"
            """
        return try runTool(
            ["/usr/bin/unshare", "-rn", "/bin/bash", "-c", script, "site", String(port), folder, log] + argv,
            environment: environment, mergeOutput: true, timeout: timeout)
    }
}

/// The test store's archives packed again as the upstream sites pack theirs (everything under one top folder), made
/// once beside the built products and kept, as the test store is.
enum UpstreamArchives {
    static let folder = "\(TestPaths.productsDirectory)/test-upstream-archives"

    /// The test store's archive of `language` `version`, packed again under `top`/ as `name`; returns its path.
    static func repack(_ language: String, version: String, top: String, name: String) throws -> String {
        _ = try TestRuntimeStore.url([language])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let source = "\(TestRuntimeStore.folder)/\(language)/\(language)-\(version).tar.gz"
        let target = "\(folder)/\(name)"
        let script = """
            set -euo pipefail
            [[ -s "$2" ]] && exit 0
            tree="$(mktemp -d "$2.tree.XXXXXX")"
            trap 'rm -rf "$tree"' EXIT
            tar -xzf "$1" -C "$tree"
            tar -C "$tree" --sort=name --transform "s,^\\.,$3," -cf - . | gzip -1 >"$2.partial"
            mv -f "$2.partial" "$2"
            """
        let result = try runTool(
            ["/usr/bin/flock", "\(folder).lock", "/bin/bash", "-c", script, "repack", source, target, top],
            mergeOutput: true, timeout: 600)
        guard result.status == 0 else { throw ToolError.launchFailed(["repack \(language)"], result.output) }
        return target
    }

    /// The SHA-256 of `file`, as upstream sites publish it.
    static func sha256(_ file: String) throws -> String {
        String(try runTool(["/usr/bin/sha256sum", file]).stdout.prefix(64))
    }
}
