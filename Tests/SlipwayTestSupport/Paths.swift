import Foundation

/// Where things are when tests run: the repository checkout and the folder of built executables.
public enum TestPaths {
    /// The repository's root folder (this file is `Tests/SlipwayTestSupport/Paths.swift`).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Where the tests' own buildpacks are (every ``ScratchDirectory`` is there): the server's
    /// `SLIPWAY_BUILDPACK_FOLDERS` in the harnesses, so that pushed apps may name them in `.buildpacks`.
    public static let buildpackFolders: String = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath()
        .path

    /// The folder holding the built products (`slugc`, …): the test runner's own folder.
    public static let productsDirectory: String = {
        let runner =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = (runner as NSString).deletingLastPathComponent
        // On some toolchains the runner sits inside an .xctest bundle.
        while folder.hasSuffix(".xctest") || folder.hasSuffix("/Contents/MacOS") {
            folder = (folder as NSString).deletingLastPathComponent
        }
        return folder
    }()

    /// The absolute path of the built executable `name`.
    public static func product(_ name: String) -> String {
        (productsDirectory as NSString).appendingPathComponent(name)
    }

    /// The repository's `buildpacks/` folder.
    public static var builtinBuildpacks: String { "\(repositoryRoot)/buildpacks" }

    /// The repository's example app `name` (in `examples/`).
    public static func example(_ name: String) -> String { "\(repositoryRoot)/examples/\(name)" }
}
