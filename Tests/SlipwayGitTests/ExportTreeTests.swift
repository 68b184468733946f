import Foundation
import SlipwayGit
import SlipwayTestSupport
import Testing

@Suite struct ExportTreeTests {
    static let lfsPointer = """
        version https://git-lfs.github.com/spec/v1
        oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
        size 12345

        """

    @Test func writesFilesModesSymlinksAndFolders() throws {
        let scratch = try ScratchDirectory("git-export")
        let work = scratch.url("work")
        try makeWorkingRepo(work)
        try scratch.write("work/README.md", "# app\n")
        try scratch.write("work/bin/run", "#!/bin/sh\necho hi\n", mode: 0o755)
        try scratch.write("work/a/b/c/deep.txt", "deep\n")
        try scratch.write("work/media/big.bin", Self.lfsPointer)
        try FileManager.default.createSymbolicLink(
            atPath: scratch.url("work/readme-link"), withDestinationPath: "README.md")
        try FileManager.default.createSymbolicLink(
            atPath: scratch.url("work/passwd"), withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: scratch.url("work/a/out"), withDestinationPath: "../../outside")
        try gitOK(["add", "-A"], in: work)
        // A submodule as git records it: a gitlink entry (mode 160000) pointing at a commit of another repository.
        try gitOK(
            ["update-index", "--add", "--cacheinfo", "160000,\(String(repeating: "ab", count: 20)),vendor/sub"],
            in: work)
        try gitOK(["commit", "-q", "-m", "tree"], in: work)

        let target = try scratch.makeDirectory("export/app")
        let report = try Repository.open(at: work).exportTree(of: "HEAD", to: target)

        #expect(try scratch.read("export/app/README.md") == "# app\n")
        #expect(try scratch.read("export/app/a/b/c/deep.txt") == "deep\n")
        #expect(try scratch.read("export/app/bin/run") == "#!/bin/sh\necho hi\n")
        #expect(fileMode(target + "/README.md") == S_IFREG | 0o644)
        #expect(fileMode(target + "/bin/run") == S_IFREG | 0o755)
        #expect(fileMode(target + "/a/b/c") == S_IFDIR | 0o755)

        // Symlinks stay symlinks with git's target text, dangling or pointing outside; none is followed.
        #expect(linkTarget(target + "/readme-link") == "README.md")
        #expect(linkTarget(target + "/passwd") == "/etc/passwd")
        #expect(linkTarget(target + "/a/out") == "../../outside")
        #expect(fileMode(target + "/passwd").map { $0 & S_IFMT } == S_IFLNK)
        #expect(fileMode(target + "/a/out").map { $0 & S_IFMT } == S_IFLNK)
        #expect(!scratch.exists("outside"))
        #expect(!scratch.exists("export/outside"))

        // The submodule is reported, not written; its parent folder exists only because git records no empty dirs.
        #expect(report.skippedSubmodules == ["vendor/sub"])
        #expect(!scratch.exists("export/app/vendor/sub"))
        #expect(report.lfsPointers == ["media/big.bin"])
        #expect(try scratch.read("export/app/media/big.bin") == Self.lfsPointer)

        #expect(report.fileCount == 4)
        #expect(report.symlinkCount == 3)
        let sizes = ["# app\n", "#!/bin/sh\necho hi\n", "deep\n", Self.lfsPointer].map { $0.utf8.count }
        #expect(report.byteCount == Int64(sizes.reduce(0, +)))
        #expect(
            listTree(target) == [
                "README.md", "a", "a/b", "a/b/c", "a/b/c/deep.txt", "a/out", "bin", "bin/run", "media",
                "media/big.bin", "passwd", "readme-link", "vendor",
            ])
        #expect(report.directoryCount == 6)
    }

    @Test func exportsTheRequestedRevisionOnly() throws {
        let scratch = try ScratchDirectory("git-export-rev")
        let work = scratch.url("work")
        try makeWorkingRepo(work)
        try scratch.write("work/v.txt", "one\n")
        try commitAll(work, "one")
        try gitOK(["tag", "v1"], in: work)
        try scratch.write("work/v.txt", "two\n")
        try scratch.write("work/later.txt", "later\n")
        try commitAll(work, "two")

        let target = try scratch.makeDirectory("out")
        let report = try Repository.open(at: work).exportTree(of: "v1", to: target)
        #expect(try scratch.read("out/v.txt") == "one\n")
        #expect(listTree(target) == ["v.txt"])
        #expect(report.fileCount == 1)
        #expect(report.lfsPointers.isEmpty)
        #expect(report.skippedSubmodules.isEmpty)
    }

    @Test func refusesADirectoryThatIsNotEmpty() throws {
        let scratch = try ScratchDirectory("git-export-nonempty")
        let work = scratch.url("work")
        try makeWorkingRepo(work)
        try scratch.write("work/f.txt", "new\n")
        try commitAll(work, "one")
        try scratch.write("out/f.txt", "old\n")

        let error = try #require(throws: GitError.self) {
            try Repository.open(at: work).exportTree(of: "HEAD", to: scratch.url("out"))
        }
        #expect(error.kind == .invalidArgument)
        #expect(error.description.contains("f.txt"))
        #expect(try scratch.read("out/f.txt") == "old\n")
    }

    /// Hostile trees, each committed with plumbing (git's porcelain would refuse to make them).
    static let hostileCases: [(label: String, entryPath: String)] = [
        ("dotdot", ".."),
        ("dot", "."),
        ("dotgit", ".git"),
        ("dotgit-upper", ".GIT"),
        ("dotgit-mixed", ".Git"),
        ("slash", "x/../../escaped"),
        ("nested-dotdot", "inner/.."),
        ("nested-dotgit", "inner/.git"),
    ]

    @Test(arguments: hostileCases.map(\.label))
    func refusesHostileEntryNamesAndWritesNothing(label: String) throws {
        let entryPath = try #require(Self.hostileCases.first { $0.label == label }?.entryPath)
        let scratch = try ScratchDirectory("git-export-hostile")
        let repoPath = scratch.url("repo.git")
        try gitOK(["init", "-q", "--bare", repoPath], in: scratch.path)
        let payload = try writeBlob("escaped\n", in: repoPath, scratch: scratch)
        let hooks = try writeRawTree(
            [RawTreeEntry("100755", "post-checkout", payload), RawTreeEntry("100644", "escaped", payload)],
            in: repoPath, scratch: scratch)

        // The hostile entry is a folder (so an escape would drop `escaped` one level up) or, for the `/` case, a
        // file whose name is a path.
        var hostile: RawTreeEntry
        if entryPath.contains("/") && !entryPath.hasPrefix("inner/") {
            hostile = RawTreeEntry("100644", entryPath, payload)
        } else {
            hostile = RawTreeEntry("40000", String(entryPath.split(separator: "/").last ?? ""), hooks)
        }
        var rootEntries = [RawTreeEntry("100644", "a-file-first.txt", payload)]
        if entryPath.hasPrefix("inner/") {
            let inner = try writeRawTree(
                [RawTreeEntry("100644", "ok.txt", payload), hostile], in: repoPath, scratch: scratch)
            rootEntries.append(RawTreeEntry("40000", "inner", inner))
        } else {
            rootEntries.append(hostile)
        }
        let tree = try writeRawTree(rootEntries, in: repoPath, scratch: scratch)
        let commit = try gitOK(["commit-tree", tree, "-m", "hostile \(label)"], in: repoPath)

        let target = try scratch.makeDirectory("jail/out")
        let error = try #require(throws: GitError.self) {
            try Repository.open(at: repoPath).exportTree(of: commit, to: target)
        }
        #expect(error.kind == .unsafeTreeEntry, "\(error)")
        #expect(error.description.contains("'\(entryPath)'"), "\(error)")
        // Checked before writing: not even the harmless entries were written, and nothing escaped.
        #expect(listTree(target) == [])
        #expect(listTree(scratch.url("jail")) == ["out"])
        #expect(!scratch.exists("escaped"))
        #expect(!scratch.exists("post-checkout"))
    }

    @Test func oldStyleGroupWritableModeIsWrittenAs0644() throws {
        // Very old git recorded 100664; git and libgit2 read it as a plain file.
        let scratch = try ScratchDirectory("git-export-664")
        let repoPath = scratch.url("repo.git")
        try gitOK(["init", "-q", "--bare", repoPath], in: scratch.path)
        let payload = try writeBlob("data\n", in: repoPath, scratch: scratch)
        let tree = try writeRawTree(
            [RawTreeEntry("100664", "group.txt", payload), RawTreeEntry("100755", "tool", payload)], in: repoPath,
            scratch: scratch)
        let target = try scratch.makeDirectory("out")
        let report = try Repository.open(at: repoPath).exportTree(of: tree, to: target)
        #expect(report.fileCount == 2)
        #expect(fileMode(target + "/group.txt") == S_IFREG | 0o644)
        #expect(fileMode(target + "/tool") == S_IFREG | 0o755)
    }

    @Test func refusesAnEmptyEntryName() throws {
        // libgit2 itself will not parse such a tree; the layer's own check is a second line behind it.
        let scratch = try ScratchDirectory("git-export-empty-name")
        let repoPath = scratch.url("repo.git")
        try gitOK(["init", "-q", "--bare", repoPath], in: scratch.path)
        let payload = try writeBlob("escaped\n", in: repoPath, scratch: scratch)
        let tree = try writeRawTree(
            [RawTreeEntry("100644", "", payload), RawTreeEntry("100644", "ok.txt", payload)], in: repoPath,
            scratch: scratch)
        let commit = try gitOK(["commit-tree", tree, "-m", "empty name"], in: repoPath)

        let target = try scratch.makeDirectory("out")
        let error = try #require(throws: GitError.self) {
            try Repository.open(at: repoPath).exportTree(of: commit, to: target)
        }
        #expect(error.description.contains("tree"), "\(error)")
        #expect(listTree(target) == [])
    }

    @Test func aSymlinkCannotRedirectALaterEntryOfTheSameName() throws {
        let scratch = try ScratchDirectory("git-export-symlink-dir")
        let repoPath = scratch.url("repo.git")
        try gitOK(["init", "-q", "--bare", repoPath], in: scratch.path)
        let outside = try scratch.makeDirectory("outside")
        let payload = try writeBlob("pwned\n", in: repoPath, scratch: scratch)
        let linkTargetBlob = try writeBlob(outside, in: repoPath, scratch: scratch)
        let subtree = try writeRawTree([RawTreeEntry("100644", "pwned.txt", payload)], in: repoPath, scratch: scratch)
        // `link` twice: first a symlink to a folder outside, then a folder whose file would land there if followed.
        let tree = try writeRawTree(
            [
                RawTreeEntry("120000", "link", linkTargetBlob),
                RawTreeEntry("40000", "link", subtree),
                RawTreeEntry("120000", "file-link", linkTargetBlob),
                RawTreeEntry("100644", "file-link", payload),
            ], in: repoPath, scratch: scratch)
        let commit = try gitOK(["commit-tree", tree, "-m", "symlink then folder"], in: repoPath)

        let target = try scratch.makeDirectory("out")
        let error = try #require(throws: GitError.self) {
            try Repository.open(at: repoPath).exportTree(of: commit, to: target)
        }
        #expect(error.kind == .system, "\(error)")
        #expect(error.returnCode == EEXIST)
        #expect(error.description.contains("link"))
        #expect(listTree(outside) == [])
        #expect(linkTarget(target + "/link") == outside)
    }

    @Test func refusesAnExistingFileNameAcrossFileEntries() throws {
        let scratch = try ScratchDirectory("git-export-dup")
        let repoPath = scratch.url("repo.git")
        try gitOK(["init", "-q", "--bare", repoPath], in: scratch.path)
        let outside = try scratch.write("outside.txt", "original\n")
        let payload = try writeBlob("overwritten\n", in: repoPath, scratch: scratch)
        let linkBlob = try writeBlob(outside, in: repoPath, scratch: scratch)
        let tree = try writeRawTree(
            [RawTreeEntry("120000", "f", linkBlob), RawTreeEntry("100644", "f", payload)], in: repoPath,
            scratch: scratch)
        let commit = try gitOK(["commit-tree", tree, "-m", "symlink then file"], in: repoPath)

        let target = try scratch.makeDirectory("out")
        #expect(throws: GitError.self) { try Repository.open(at: repoPath).exportTree(of: commit, to: target) }
        #expect(try scratch.read("outside.txt") == "original\n")
    }
}
