public import Foundation
import SlipwaySystem

/// The buildpacks shipped in the repository's `buildpacks/` folder, and the order detection tries them in.
public struct BuiltinBuildpacks: Sendable {
    /// The fixed detection order: the first that detects is used; `procfile` is the fallback for any app with a
    /// Procfile.
    public static let detectionOrder = ["python", "nodejs", "ruby", "go", "clojure", "java", "php", "procfile"]

    /// The subfolder of shared scripts (not a buildpack), copied beside the buildpacks of every build.
    public static let sharedLibrary = "lib"

    /// The folder holding one subfolder per built-in buildpack.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The folder of the built-in buildpack `name`.
    public func path(of name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Finds the built-in buildpacks: `$SLIPWAY_BUILDPACKS`, else `buildpacks/` or `share/slipway/buildpacks/` in the
    /// folders above the running executable (which covers both a checkout's `.build/…/slugc` and an installed
    /// `/usr/local/bin/slugc`).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> BuiltinBuildpacks?
    {
        if let explicit = environment["SLIPWAY_BUILDPACKS"], !explicit.isEmpty {
            return BuiltinBuildpacks(directory: explicit)
        }
        let executable = ProcessInfo.currentExecutable
        var folder = (executable as NSString).deletingLastPathComponent
        for _ in 0..<6 {
            for candidate in ["buildpacks", "share/slipway/buildpacks"] {
                let path = (folder as NSString).appendingPathComponent(candidate)
                if FileManager.default.isExecutableFile(atPath: "\(path)/procfile/bin/detect") {
                    return BuiltinBuildpacks(directory: path)
                }
            }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return nil
    }
}
