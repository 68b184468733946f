import Foundation
import SlipwayTestSupport
import Testing

/// The project's shell scripts (scripts and the bench and store libraries they source, hooks, built-in buildpacks, CI)
/// pass shellcheck, and the buildpacks' shared library is one text, copied into each buildpack so that each stays a
/// self-contained folder.
@Suite struct ShellScriptTests {
    /// Every file in the project's script folders that starts with a shell's `#!` line.
    static func scripts() throws -> [String] {
        let root = TestPaths.repositoryRoot
        let fm = FileManager.default
        var folders = ["scripts", "scripts/lib", "hooks", ".ci", "stack"]
        for buildpack in try fm.contentsOfDirectory(atPath: "\(root)/buildpacks") {
            folders += ["buildpacks/\(buildpack)/bin", "buildpacks/\(buildpack)/lib"]
        }
        var found: [String] = []
        for folder in folders {
            for name in (try? fm.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? [] {
                let path = "\(root)/\(folder)/\(name)"
                guard let head = fm.contents(atPath: path)?.prefix(64) else { continue }
                let firstLine = String(decoding: head, as: UTF8.self).split(separator: "\n").first ?? ""
                if name.hasSuffix(".sh") || (firstLine.hasPrefix("#!") && firstLine.contains("sh")) {
                    found.append(path)
                }
            }
        }
        return found.sorted()
    }

    @Test func everyShellScriptPassesShellcheck() throws {
        let scripts = try Self.scripts()
        #expect(scripts.count >= 12, "found the scripts: \(scripts)")
        let shellcheck = try #require(which("shellcheck"), "shellcheck is installed by scripts/setup")
        let result = try runTool(
            [shellcheck, "--external-sources"] + scripts, directory: TestPaths.repositoryRoot, timeout: 120)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func theBuildpacksShareOneCommonLibrary() throws {
        let root = TestPaths.repositoryRoot
        // buildpacks/lib/common.sh serves the buildpacks that need the shared lib anyway (the runtime store); python
        // and nodejs carry a copy, so that each still works alone (a folder or a git URL given to -b).
        let copies =
            try FileManager.default.contentsOfDirectory(atPath: "\(root)/buildpacks")
            .map { "\(root)/buildpacks/\($0)/lib/common.sh" }.filter { FileManager.default.fileExists(atPath: $0) }
            + ["\(root)/buildpacks/lib/common.sh"]
        #expect(copies.count == 3, "\(copies)")
        let texts = Set(copies.compactMap { FileManager.default.contents(atPath: $0) })
        #expect(texts.count == 1, "buildpacks/lib/common.sh and its copies are the same file: edit one, copy it")
    }
}
