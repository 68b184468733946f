import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// What a pushed tree may hold that a naive server would mishandle: symlinks out of it, submodules, LFS pointers,
/// odd names, and sizes over the limits.
@Suite(.serialized) struct PushedTreeTests {
    /// The names and types in a slug, as Python's tarfile reads them (names as hex, to compare bytes).
    func slugListing(_ path: String) throws -> [String: String] {
        let script = """
            import sys, tarfile
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    kind = "link:" + m.linkname if m.issym() else ("dir" if m.isdir() else ("file" if m.isfile() else "other"))
                    print(m.name.encode("utf-8", "surrogateescape").hex(), kind)
            """
        let result = try runTool(["/usr/bin/env", "python3", "-c", script, path])
        var listing: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            var bytes: [UInt8] = []
            var hex = Substring(parts[0])
            while !hex.isEmpty {
                bytes.append(UInt8(hex.prefix(2), radix: 16) ?? 0)
                hex = hex.dropFirst(2)
            }
            listing[String(decoding: bytes, as: UTF8.self)] = String(parts[1])
        }
        return listing
    }

    @Test func symlinksOutOfTheTreeStayLinks() throws {
        let h = try PushHarness("tree-links")
        let bp = try h.buildpack(compile: #"echo "-----> passwd is a link: $([ -L "$1/passwd" ] && echo yes)""#)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        for (name, target) in [("passwd", "/etc/passwd"), ("spool", "../../spool"), ("environ", "/proc/self/environ")] {
            symlink(target, "\(repo)/\(name)")
        }
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "links"], in: repo)
        let result = try h.push(repo)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("passwd is a link: yes"))
        let entry = try #require(try h.spoolEntries().first)
        let listing = try slugListing("\(h.root)/spool/new/\(entry.name)/slug.tgz")
        #expect(listing["./app/passwd"] == "link:/etc/passwd")
        #expect(listing["./app/spool"] == "link:../../spool")
        #expect(listing["./app/environ"] == "link:/proc/self/environ")
    }

    @Test func submodulesAndLFSPointersGetWarnings() throws {
        let h = try PushHarness("tree-submodule")
        let bp = try h.buildpack()
        let pointer =
            "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "assets/logo.png": pointer])
        let head = try git(["rev-parse", "HEAD"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try git(["update-index", "--add", "--cacheinfo", "160000,\(head),vendor/lib"], in: repo)
        try git(["commit", "-q", "-m", "submodule"], in: repo)
        let result = try h.push(repo)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Warning: submodule vendor/lib is skipped"), "\(result.output)")
        #expect(result.output.contains("assets/logo.png is a Git LFS pointer"))
    }

    /// A name that is not UTF-8 and two names that differ only in case reach the slug byte for byte.
    @Test func oddNamesAreKeptByteForByte() throws {
        let h = try PushHarness("tree-names")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: [
            "Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "README": "upper", "readme": "lower",
        ])
        let made = try runTool([
            "/usr/bin/env", "python3", "-c",
            "import os, sys; open(os.path.join(sys.argv[1].encode(), b'caf\\xe9.txt'), 'w').write('latin-1')",
            repo,
        ])
        #expect(made.status == 0, "\(made.output)")
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "names"], in: repo)
        let result = try h.push(repo)
        #expect(result.status == 0, "\(result.output)")
        let entry = try #require(try h.spoolEntries().first)
        let listing = try slugListing("\(h.root)/spool/new/\(entry.name)/slug.tgz")
        #expect(listing["./app/README"] == "file" && listing["./app/readme"] == "file")
        #expect(
            listing[String(decoding: Array("./app/caf".utf8) + [0xE9] + Array(".txt".utf8), as: UTF8.self)] == "file",
            "\(listing.keys)")
    }

    /// The operator's limits on pushed trees: each over-limit push is refused with the limit's setting named, and
    /// nothing is built or left behind.
    @Test func limitsAreCheckedBeforeWriting() throws {
        let h = try PushHarness(
            "tree-limits",
            sessionEnvironment: [
                "SLIPWAY_MAX_TREE_FILES": "20", "SLIPWAY_MAX_TREE_PATH": "100", "SLIPWAY_MAX_TREE_DEPTH": "5",
                "SLIPWAY_MAX_TREE_MB": "1",
            ])
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo).status == 0)
        let cases: [(String, [String: String])] = [
            ("SLIPWAY_MAX_TREE_FILES", Dictionary(uniqueKeysWithValues: (0..<25).map { ("many/f\($0)", "x") })),
            (
                "SLIPWAY_MAX_TREE_PATH",
                [String(repeating: "p", count: 60) + "/" + String(repeating: "q", count: 60): "x"]
            ),
            ("SLIPWAY_MAX_TREE_DEPTH", ["a/b/c/d/e/f/g/h.txt": "x"]),
            ("SLIPWAY_MAX_TREE_MB", ["big.txt": String(repeating: "0123456789abcdef", count: 140_000)]),
        ]
        for (setting, files) in cases {
            let branch = try git(["rev-parse", "HEAD"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for (path, contents) in files {
                let full = "\(repo)/\(path)"
                try FileManager.default.createDirectory(
                    atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try contents.write(toFile: full, atomically: false, encoding: .utf8)
            }
            try git(["add", "-A"], in: repo)
            try git(["commit", "-q", "-m", setting], in: repo)
            let result = try h.push(repo)
            #expect(result.status != 0, "\(setting): \(result.output)")
            #expect(
                result.output.contains("the pushed tree is too large") && result.output.contains(setting),
                "\(result.output)")
            #expect(try h.spoolEntries().count == 1)
            #expect(
                waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp")) ?? ["?"]).isEmpty }
            )
            try git(["reset", "-q", "--hard", branch], in: repo)
        }
    }
}
