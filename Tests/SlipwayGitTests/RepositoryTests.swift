import Foundation
import SlipwayGit
import SlipwayTestSupport
import Testing

@Suite struct RepositoryTests {
    @Test func initBareCreatesABareRepositoryAndConfigRoundTrips() throws {
        let scratch = try ScratchDirectory("git-init")
        let path = scratch.url("deep/new/app.git")
        let repo = try Repository.initBare(at: path)
        #expect(repo.isBare)
        #expect(repo.path == path)

        try repo.setConfig("slipway.app", "demo app")
        try repo.setConfig("receive.denyNonFastForwards", true)
        try repo.setConfig("slipway.debug", false)
        #expect(try repo.configString("slipway.app") == "demo app")
        #expect(try repo.configString("receive.denyNonFastForwards") == "true")
        #expect(try repo.configString("slipway.debug") == "false")
        #expect(try repo.configString("slipway.missing") == nil)

        // The values are in the repository's own file, where git itself reads them.
        #expect(try gitOK(["config", "--file", "config", "slipway.app"], in: path) == "demo app")
        #expect(try gitOK(["rev-parse", "--is-bare-repository"], in: path) == "true")

        // A second init keeps what is there.
        let again = try Repository.initBare(at: path)
        #expect(try again.configString("slipway.app") == "demo app")
        #expect(try Repository.open(at: path).configString("receive.denyNonFastForwards") == "true")
    }

    @Test func invalidConfigKeyThrowsNamingIt() throws {
        let scratch = try ScratchDirectory("git-config")
        let repo = try Repository.initBare(at: scratch.url("r.git"))
        let error = try #require(throws: GitError.self) { try repo.setConfig("no-section", "x") }
        #expect(error.kind == .library)
        #expect(error.description.contains("no-section"))
    }

    @Test func headCommitIsNilUntilTheFirstCommit() throws {
        let scratch = try ScratchDirectory("git-head")
        let path = scratch.url("work")
        try makeWorkingRepo(path)
        let empty = try Repository.open(at: path)
        #expect(!empty.isBare)
        #expect(try empty.headCommit() == nil)
        #expect(try Repository.initBare(at: scratch.url("bare.git")).headCommit() == nil)

        try scratch.write("work/hello.txt", "hello\n")
        let dates = ["GIT_COMMITTER_DATE": "1700000000 +0000", "GIT_AUTHOR_DATE": "1600000000 +0200"]
        let sha = try commitAll(
            path, "Add greeting\n\nWith a body that is not part of the summary.", environment: dates)

        let head = try #require(try Repository.open(at: path).headCommit())
        #expect(head.sha == sha)
        #expect(head.sha.count == 40)
        #expect(head.shortSha == String(sha.prefix(7)))
        #expect(head.time == 1_700_000_000)
        #expect(head.summary == "Add greeting")
        #expect(head.authorName == "Slipway Test")
        #expect(try empty.headCommit() == head)
    }

    @Test func commitResolvesRevisionsAndPeelsTags() throws {
        let scratch = try ScratchDirectory("git-revparse")
        let path = scratch.url("work")
        try makeWorkingRepo(path)
        try scratch.write("work/a.txt", "1\n")
        let first = try commitAll(path, "first")
        try gitOK(["tag", "-a", "v1", "-m", "release one"], in: path)
        try scratch.write("work/a.txt", "2\n")
        let second = try commitAll(path, "second")
        let repo = try Repository.open(at: path)

        #expect(try repo.commit("v1").sha == first)
        #expect(try repo.commit("HEAD~1").sha == first)
        #expect(try repo.commit(String(second.prefix(8))).sha == second)
        #expect(try repo.commit("main").summary == "second")

        let error = try #require(throws: GitError.self) { try repo.commit("no-such-branch") }
        #expect(error.isNotFound)
        #expect(error.description.hasPrefix("git_revparse_single failed: "))
        #expect(error.description.contains("no-such-branch"))
    }

    @Test func openingAMissingRepositoryThrowsNamingThePath() throws {
        let scratch = try ScratchDirectory("git-open")
        let missing = scratch.url("nothing-here")
        let error = try #require(throws: GitError.self) { try Repository.open(at: missing) }
        #expect(error.kind == .library)
        #expect(error.function == "git_repository_open")
        #expect(error.returnCode < 0)
        #expect(error.description.hasPrefix("git_repository_open failed: "))
        #expect(error.description.contains(missing))
    }
}
