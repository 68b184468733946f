import Foundation
import SlipwayGit

#if canImport(Glibc)
    import Glibc
#endif

/// A buildpack ready to run: fetched or copied into the build's workspace, its scripts checked.
///
/// Each build runs its own copy, so a buildpack that writes its `export` file (or anything else) into its own folder
/// never changes the original, and two builds never share one.
struct Buildpack {
    var reference: BuildpackReference
    /// The buildpack's folder inside the workspace.
    var directory: String
    /// The name `bin/detect` printed, once it ran.
    var name: String

    var detectPath: String { "\(directory)/bin/detect" }
    var compilePath: String { "\(directory)/bin/compile" }
    var releasePath: String { "\(directory)/bin/release" }
    var exportPath: String { "\(directory)/export" }

    /// Copies or clones `reference` into `destination` and checks that `bin/detect` and `bin/compile` are executable.
    static func fetch(_ reference: BuildpackReference, into destination: String, builtins: BuiltinBuildpacks?) throws
        -> Buildpack
    {
        switch reference {
        case .builtin(let name):
            guard let builtins else {
                throw BuildError(
                    .buildpackInvalid, "The built-in buildpacks were not found.",
                    hint: "Set SLIPWAY_BUILDPACKS to the repository's buildpacks/ folder, or pass --buildpacks-dir.")
            }
            try copyFolder(builtins.path(of: name), to: destination, reference: reference)
        case .directory(let path):
            try copyFolder(path, to: destination, reference: reference)
        case .git(let url, let ref):
            do {
                _ = try Repository.clone(url: url, to: destination, reference: ref)
            } catch {
                throw BuildError(
                    .buildpackFetchFailed, "Could not fetch buildpack \(reference): \(error)",
                    hint: "Check the URL and the ref after '#', and that this server can reach it.")
            }
        }
        let fallbackName = (reference.description as NSString).lastPathComponent
        let buildpack = Buildpack(reference: reference, directory: destination, name: fallbackName)
        for script in [buildpack.detectPath, buildpack.compilePath] {
            guard access(script, X_OK) == 0 else {
                let relative = "bin/" + (script as NSString).lastPathComponent
                let why = access(script, F_OK) == 0 ? "is not executable" : "is missing"
                throw BuildError(
                    .buildpackInvalid, "Buildpack \(reference): \(relative) \(why).",
                    hint: "A buildpack needs executable bin/detect and bin/compile (bin/release is optional).")
            }
        }
        return buildpack
    }

    /// Copies the built-in buildpacks' shared scripts (`buildpacks/lib`: the runtime store's client) beside the
    /// buildpacks' copies, so that each finds them at `$BUILDPACK_DIR/../lib`, as in the repository.
    static func copySharedLibrary(of builtins: BuiltinBuildpacks, into buildpacksDirectory: String) throws {
        let source = (builtins.directory as NSString).appendingPathComponent(BuiltinBuildpacks.sharedLibrary)
        guard FileManager.default.fileExists(atPath: source) else { return }
        let destination = (buildpacksDirectory as NSString).appendingPathComponent(BuiltinBuildpacks.sharedLibrary)
        try copyFolder(source, to: destination, reference: .builtin(BuiltinBuildpacks.sharedLibrary))
    }

    private static func copyFolder(_ source: String, to destination: String, reference: BuildpackReference) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BuildError(
                .buildpackInvalid, "Buildpack \(reference) was not found: \(source) is not a folder.",
                hint:
                    "Pass a buildpack folder, a git URL, or one of: \(BuiltinBuildpacks.detectionOrder.joined(separator: ", "))."
            )
        }
        do {
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
            var copier = AppCopier(ignore: SlugIgnore(parsing: ""))
            try copier.copy(from: source, to: destination)
        } catch {
            throw BuildError(.buildpackInvalid, "Could not copy buildpack \(reference): \(error)")
        }
    }
}
