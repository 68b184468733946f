import Foundation
import SlipwayGit
import SlipwayTestSupport
import Testing

/// A source repository with history on `main`, an annotated tag and a second branch:
/// `v1` ("one") ← main ("two") ← feature ("feature", plus `feature-only.txt`).
struct CloneFixture {
    let scratch: ScratchDirectory
    let source: String
    let first: String
    let second: String
    let feature: String

    init() throws {
        scratch = try ScratchDirectory("git-clone")
        source = scratch.url("source")
        try makeWorkingRepo(source)
        try scratch.write("source/version.txt", "one\n")
        try scratch.write("source/common/shared.txt", "shared\n")
        first = try commitAll(source, "first")
        try gitOK(["tag", "-a", "v1", "-m", "release one"], in: source)
        try scratch.write("source/version.txt", "two\n")
        second = try commitAll(source, "second")
        try gitOK(["checkout", "-q", "-b", "feature"], in: source)
        try scratch.write("source/version.txt", "feature\n")
        try scratch.write("source/feature-only.txt", "only here\n")
        feature = try commitAll(source, "feature work")
        try gitOK(["checkout", "-q", "main"], in: source)
    }

    func version(in clone: String) throws -> String {
        try String(contentsOfFile: clone + "/version.txt", encoding: .utf8)
    }
}

@Suite struct CloneTests {
    @Test func cloneOfALocalPathChecksOutTheDefaultBranch() throws {
        let fixture = try CloneFixture()
        let target = fixture.scratch.url("clone")
        let repo = try Repository.clone(url: fixture.source, to: target)
        #expect(!repo.isBare)
        #expect(try fixture.version(in: target) == "two\n")
        #expect(try repo.headCommit()?.sha == fixture.second)
        #expect(!fixture.scratch.exists("clone/feature-only.txt"))
        #expect(try gitOK(["status", "--porcelain"], in: target) == "")
    }

    @Test func cloneOfAFileURLWithoutReference() throws {
        let fixture = try CloneFixture()
        let target = fixture.scratch.url("clone")
        let repo = try Repository.clone(url: "file://" + fixture.source, to: target)
        #expect(try fixture.version(in: target) == "two\n")
        #expect(try repo.headCommit()?.sha == fixture.second)
    }

    @Test(arguments: [
        ("feature", "feature\n", true),
        ("v1", "one\n", false),
        ("main", "two\n", false),
    ])
    func cloneOfAFileURLAtAReference(reference: String, expected: String, hasFeatureFile: Bool) throws {
        let fixture = try CloneFixture()
        let target = fixture.scratch.url("clone")
        let repo = try Repository.clone(url: "file://" + fixture.source, to: target, reference: reference)
        #expect(try fixture.version(in: target) == expected)
        #expect(fixture.scratch.exists("clone/feature-only.txt") == hasFeatureFile)
        #expect(try fixture.scratch.read("clone/common/shared.txt") == "shared\n")
        let shas = ["feature": fixture.feature, "v1": fixture.first, "main": fixture.second]
        #expect(try repo.headCommit()?.sha == shas[reference])
        // The working tree and index match the commit exactly.
        #expect(try gitOK(["status", "--porcelain"], in: target) == "")
    }

    @Test func cloneOfALocalPathAtAShortSha() throws {
        let fixture = try CloneFixture()
        let target = fixture.scratch.url("clone")
        let short = String(fixture.first.prefix(7))
        let repo = try Repository.clone(url: fixture.source, to: target, reference: short)
        #expect(try fixture.version(in: target) == "one\n")
        #expect(try repo.headCommit()?.sha == fixture.first)
        #expect(try gitOK(["rev-parse", "HEAD"], in: target) == fixture.first)
        #expect(try gitOK(["status", "--porcelain"], in: target) == "")
    }

    @Test func cloneOfAMissingPathThrowsNamingIt() throws {
        let scratch = try ScratchDirectory("git-clone-missing")
        let missing = scratch.url("no-such-repo")
        for url in [missing, "file://" + missing] {
            let error = try #require(throws: GitError.self) {
                try Repository.clone(url: url, to: scratch.url("clone-\(url.count)"))
            }
            #expect(error.function == "git_clone")
            #expect(error.description.hasPrefix("git_clone failed: "))
            #expect(error.description.contains(missing), "\(error)")
        }
    }

    @Test func cloneOfAnUnreachableURLThrowsNamingIt() throws {
        let scratch = try ScratchDirectory("git-clone-unreachable")
        // Port 1 on the loopback address refuses at once; nothing leaves the machine.
        let url = "https://127.0.0.1:1/app.git"
        let error = try #require(throws: GitError.self) { try Repository.clone(url: url, to: scratch.url("c")) }
        #expect(error.function == "git_clone")
        #expect(error.description.contains(url), "\(error)")
        #expect(!scratch.exists("c"))
    }

    @Test func cloneAtAnUnknownReferenceThrowsNamingIt() throws {
        let fixture = try CloneFixture()
        let error = try #require(throws: GitError.self) {
            try Repository.clone(url: fixture.source, to: fixture.scratch.url("clone"), reference: "no-such-ref")
        }
        #expect(error.isNotFound)
        #expect(error.description.contains("no-such-ref"), "\(error)")
    }
}
