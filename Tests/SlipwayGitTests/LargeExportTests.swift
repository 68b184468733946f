import Foundation
import SlipwayBench
import SlipwayGit
import SlipwayTestSupport
import Testing

/// The parallel export of a large tree against git's own: `git archive | tar -x` must give exactly the same files,
/// bytes, modes and symlinks, whatever the number of threads.
@Suite struct LargeExportTests {
    /// Every path under `directory` with its type, permission bits and symlink target (`find -printf`).
    func listing(_ directory: String) throws -> String {
        try runTool(["/usr/bin/find", ".", "-printf", "%p %y %m %l\n"], directory: directory).stdout
            .split(separator: "\n").sorted().joined(separator: "\n")
    }

    @Test func aLargeGeneratedTreeMatchesGitArchiveWhateverTheThreads() throws {
        let scratch = try ScratchDirectory("git-export-large")
        let work = scratch.url("work")
        let summary = try TreeGenerator(seed: 3, totalBytes: 12 << 20).generate(into: work)
        #expect(summary.files > 1000 && summary.symlinks > 0)
        try makeWorkingRepo(work)
        try commitAll(work, "large tree")
        let expected = try scratch.makeDirectory("archive")
        // tar.umask=022: git archive records 0664 and 0775 by default; git itself means 0644 and 0755.
        let archived = try runTool(
            ["/bin/sh", "-c", #"git -C "$1" -c tar.umask=022 archive HEAD | tar -x -C "$2""#, "sh", work, expected])
        #expect(archived.status == 0, "\(archived.output)")
        let expectedListing = try listing(expected)

        for threads in [1, 2, 4] {
            let target = try scratch.makeDirectory("export-\(threads)")
            let report = try Repository.open(at: work).exportTree(of: "HEAD", to: target, threads: threads)
            #expect(report.fileCount == summary.files)
            #expect(report.symlinkCount == summary.symlinks)
            #expect(report.byteCount == summary.bytes)
            #expect(try listing(target) == expectedListing)
            let compared = try runTool(["/usr/bin/diff", "-r", "--no-dereference", expected, target])
            #expect(compared.status == 0, "\(compared.output.prefix(500))")
        }
    }
}
