import Foundation
import SlipwaySystem

extension BuildpackReference {
    /// The git URL schemes an app may fetch a buildpack from: the network's, never the server's own files
    /// (`file://`, a local `…/repo.git`) nor its SSH identity (`ssh://`, `git@host:`).
    static let appSchemes = ["https://", "http://", "git://"]

    /// Refuses a buildpack the app chose (in its pushed `.buildpacks`, `BUILDPACK_URL` or its buildpacks setting)
    /// that is not a built-in, a git repository by network URL, or a folder inside one of `allowedFolders` (the
    /// operator's; symlinks resolved): a folder or repository elsewhere on the server would be copied, outside any
    /// sandbox, into the build, and from there into the app's slug.
    func checkChosenByApp(allowedFolders: [String]) throws {
        let shown = TerminalText.printable(description, limit: 200)
        switch self {
        case .builtin:
            return
        case .git(let url, _):
            let lowered = url.lowercased()
            if Self.appSchemes.contains(where: { lowered.hasPrefix($0) }) { return }
        case .directory(let path):
            if path.hasPrefix("/"), let real = Self.realPath(path),
                allowedFolders.compactMap(Self.realPath).contains(where: { real == $0 || real.hasPrefix($0 + "/") })
            {
                return
            }
        }
        throw BuildError(
            .buildpackInvalid,
            "Buildpack \(shown) is not allowed: an app may name a built-in buildpack "
                + "(\(BuiltinBuildpacks.detectionOrder.joined(separator: ", "))) or a git repository by its https URL, "
                + "never a folder or file on the server.",
            hint: "Change .buildpacks (or BUILDPACK_URL, or buildpacks:set) to a built-in name or an https:// URL.")
    }

    /// `path` with every symlink resolved, or nil when it does not exist.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
