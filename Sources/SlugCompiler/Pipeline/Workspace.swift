import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A build's private scratch space, removed when the build ends, whatever the outcome.
///
/// ```
/// slugc-XXXXXX/
///   app/         BUILD_DIR: the copy of the source the buildpacks compile
///   env/         ENV_DIR: one file per config var
///   home/        HOME for buildpacks (never the caller's)
///   tmp/         TMPDIR for buildpacks
///   buildpacks/  each buildpack's private copy, in run order
/// ```
final class Workspace {
    let root: String
    var buildDirectory: String { "\(root)/app" }
    var envDirectory: String { "\(root)/env" }
    var homeDirectory: String { "\(root)/home" }
    var tmpDirectory: String { "\(root)/tmp" }
    var buildpacksDirectory: String { "\(root)/buildpacks" }

    init(under parent: String) throws {
        var template = Array("\(parent)/slugc-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BuildError(
                .outputUnwritable, "Cannot create a build folder in \(parent): \(String(cString: strerror(errno))).",
                hint: "Set TMPDIR to a writable folder with free space.")
        }
        root = String(cString: made)
        for folder in [buildDirectory, envDirectory, homeDirectory, tmpDirectory, buildpacksDirectory] {
            mkdir(folder, 0o700)
        }
    }

    deinit {
        try? FileSystem.removeTree(root)
    }

    /// Writes ENV_DIR: one file per config var, named after the key, holding the value with no newline added.
    func writeEnvDirectory(_ vars: [String: String]) throws {
        for (key, value) in vars {
            let path = "\(envDirectory)/\(key)"
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw BuildError(.outputUnwritable, "Cannot write the config var \(key) to the build's env folder.")
            }
        }
    }
}
