import Foundation
import SlipwayGit
import SlipwayTestSupport
import Testing

/// A pushed tree over a limit (files, path length, depth, bytes) is refused before anything is written, with a
/// message naming the limit and the setting that raises it.
@Suite struct ExportLimitTests {
    func repository(_ scratch: ScratchDirectory, files: [String: String]) throws -> String {
        let work = scratch.url("work")
        try makeWorkingRepo(work)
        for (path, contents) in files { try scratch.write("work/\(path)", contents) }
        try commitAll(work, "tree")
        return work
    }

    func expectRefused(_ files: [String: String], limits: ExportLimits, message: String, setting: String) throws {
        let scratch = try ScratchDirectory("git-export-limits")
        let work = try repository(scratch, files: files)
        let target = try scratch.makeDirectory("out")
        let error = try #require(throws: GitError.self) {
            try Repository.open(at: work).exportTree(of: "HEAD", to: target, limits: limits)
        }
        #expect(error.kind == .limitExceeded, "\(error)")
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.message.contains(setting))
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty, "nothing was written")
        // Within the limit, the same tree exports.
        let roomy = try scratch.makeDirectory("roomy")
        #expect(try Repository.open(at: work).exportTree(of: "HEAD", to: roomy).fileCount == files.count)
    }

    @Test func tooManyFiles() throws {
        var limits = ExportLimits()
        limits.files = 5
        let files = Dictionary(uniqueKeysWithValues: (0..<6).map { ("f\($0).txt", "x") })
        try expectRefused(files, limits: limits, message: "more than 5 files", setting: "SLIPWAY_MAX_TREE_FILES")
    }

    @Test func tooLongAPath() throws {
        var limits = ExportLimits()
        limits.pathBytes = 40
        let long = String(repeating: "a", count: 30) + "/" + String(repeating: "b", count: 30) + ".txt"
        try expectRefused(
            [long: "x"], limits: limits, message: "longer than 40 bytes", setting: "SLIPWAY_MAX_TREE_PATH")
    }

    @Test func tooDeep() throws {
        var limits = ExportLimits()
        limits.depth = 3
        try expectRefused(
            ["a/b/c/d/e.txt": "x"], limits: limits, message: "nested more than 3 deep",
            setting: "SLIPWAY_MAX_TREE_DEPTH")
    }

    @Test func tooManyBytes() throws {
        var limits = ExportLimits()
        limits.totalBytes = 1 << 20
        let big = String(repeating: "0123456789abcdef", count: 70_000)  // 1.1 MB, compresses to nothing in git
        try expectRefused(["big.txt": big], limits: limits, message: "more than 1 MB", setting: "SLIPWAY_MAX_TREE_MB")
    }

    @Test func limitsComeFromTheEnvironment() {
        let limits = ExportLimits.fromEnvironment([
            "SLIPWAY_MAX_TREE_FILES": "10", "SLIPWAY_MAX_TREE_PATH": "200", "SLIPWAY_MAX_TREE_DEPTH": "9999",
            "SLIPWAY_MAX_TREE_MB": "3",
        ])
        #expect(limits.files == 10 && limits.pathBytes == 200 && limits.totalBytes == 3 << 20)
        #expect(limits.depth == 256, "never deeper than the export can go")
        #expect(ExportLimits.fromEnvironment(["SLIPWAY_MAX_TREE_FILES": "lots"]) == ExportLimits())
    }
}
