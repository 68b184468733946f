import Testing

@testable import SlugCompiler

@Suite struct BuildpackReferenceTests {
    let names = BuiltinBuildpacks.detectionOrder

    @Test func interpretsEachForm() {
        #expect(BuildpackReference("python", builtinNames: names) == .builtin("python"))
        #expect(BuildpackReference("heroku/nodejs", builtinNames: names) == .builtin("nodejs"))
        #expect(BuildpackReference("./my-pack", builtinNames: names) == .directory("./my-pack"))
        #expect(
            BuildpackReference("https://example.com/bp.git#v1.2", builtinNames: names)
                == .git(url: "https://example.com/bp.git", ref: "v1.2"))
        #expect(BuildpackReference("file:///srv/bp", builtinNames: names) == .git(url: "file:///srv/bp", ref: nil))
        #expect(BuildpackReference("/srv/bp.git#main", builtinNames: names) == .git(url: "/srv/bp.git", ref: "main"))
        #expect(
            BuildpackReference("https://example.com/bp.git#v1.2", builtinNames: names).description
                == "https://example.com/bp.git#v1.2")
    }

    @Test func parsesABuildpacksFile() {
        let list = BuildpackReference.parseList("# first\nnodejs\n\n  /opt/bp  \nfile:///x#dev\n", builtinNames: names)
        #expect(list == [.builtin("nodejs"), .directory("/opt/bp"), .git(url: "file:///x", ref: "dev")])
    }
}
