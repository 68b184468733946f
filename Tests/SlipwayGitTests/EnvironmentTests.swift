import Foundation
import SlipwayGit
import SlipwayTestSupport
import Testing

/// Tests that change the process environment. They run one at a time, and only ever set
/// `GIT_ALTERNATE_OBJECT_DIRECTORIES`, which can only add objects for git commands other tests run meanwhile
/// (`GIT_OBJECT_DIRECTORY` or `GIT_DIR` would redirect their writes, so they are not set here).
@Suite(.serialized) struct EnvironmentTests {
    @Test func openFromEnvironmentSeesObjectsInAnAlternateDirectory() throws {
        let scratch = try ScratchDirectory("git-env")
        let target = scratch.url("app.git")
        try gitOK(["init", "-q", "--bare", target], in: scratch.path)
        // The "quarantine": a commit that exists only in another object store.
        let incoming = scratch.url("incoming")
        try makeWorkingRepo(incoming)
        try scratch.write("incoming/app.txt", "pushed\n")
        let pushed = try commitAll(incoming, "pushed commit")

        let plain = try Repository.open(at: target)
        let missing = try #require(throws: GitError.self) { try plain.commit(pushed) }
        #expect(missing.isNotFound)

        let name = "GIT_ALTERNATE_OBJECT_DIRECTORIES"
        let previous = ProcessInfo.processInfo.environment[name]
        setenv(name, incoming + "/.git/objects", 1)
        defer {
            if let previous { setenv(name, previous, 1) } else { unsetenv(name) }
        }

        let fromEnvironment = try Repository.openFromEnvironment(at: target)
        #expect(fromEnvironment.path == target)
        #expect(fromEnvironment.isBare)
        let info = try fromEnvironment.commit(pushed)
        #expect(info.sha == pushed)
        #expect(info.summary == "pushed commit")
        let exported = try scratch.makeDirectory("export")
        let report = try fromEnvironment.exportTree(of: pushed, to: exported)
        #expect(report.fileCount == 1)
        #expect(try scratch.read("export/app.txt") == "pushed\n")

        // A plain open still ignores the environment.
        #expect(throws: GitError.self) { try Repository.open(at: target).commit(pushed) }
    }
}
