import Foundation
import SlipwaySystem

/// Chooses the buildpacks of a build. Explicit ones (`-b`, the app's `.buildpacks`, `BUILDPACK_URL`) are fetched and
/// must each detect the app; otherwise the built-in buildpacks are detected side by side and the first in
/// ``BuiltinBuildpacks/detectionOrder`` that accepts the app wins.
struct BuildpackSelection {
    let options: BuildOptions
    let console: Console
    let runner: PhaseRunner

    /// The buildpacks to run, in order, each named as its `bin/detect` named it.
    func select(in workspace: Workspace, environment: [String: String]) throws -> [Buildpack] {
        let builtins = options.builtinBuildpacks ?? BuiltinBuildpacks.locate()
        let names = BuiltinBuildpacks.detectionOrder
        if let builtins { try Buildpack.copySharedLibrary(of: builtins, into: workspace.buildpacksDirectory) }
        var explicit = options.buildpacks.map { BuildpackReference($0, builtinNames: names) }
        if explicit.isEmpty,
            let text = try? String(contentsOfFile: "\(workspace.buildDirectory)/.buildpacks", encoding: .utf8)
        {
            explicit = BuildpackReference.parseList(text, builtinNames: names)
        }
        if explicit.isEmpty, let url = options.configVars["BUILDPACK_URL"], !url.isEmpty {
            explicit = [BuildpackReference(url, builtinNames: names)]
        }

        if let allowed = options.appBuildpackFolders {
            for reference in explicit { try reference.checkChosenByApp(allowedFolders: allowed) }
        }
        if !explicit.isEmpty {
            var chosen: [Buildpack] = []
            for (index, reference) in explicit.enumerated() {
                if case .git = reference { console.step("Fetching buildpack \(reference)") }
                var buildpack = try Buildpack.fetch(
                    reference, into: "\(workspace.buildpacksDirectory)/\(index)", builtins: builtins)
                try handOver(buildpack)
                guard let name = try runner.detectAll([buildpack], workspace, environment: environment)[0] else {
                    throw BuildError(
                        .appNotCompatible, "App not compatible with buildpack: \(reference)",
                        hint: "bin/detect of that buildpack did not accept this app; check the app or the buildpack.",
                        buildpack: buildpack.name)
                }
                buildpack.name = name
                chosen.append(buildpack)
            }
            for buildpack in chosen { console.step("\(buildpack.name) app detected") }
            return chosen
        }

        let candidates = try names.enumerated().map { index, name in
            let buildpack = try Buildpack.fetch(
                .builtin(name), into: "\(workspace.buildpacksDirectory)/\(index)", builtins: builtins)
            try handOver(buildpack)
            return buildpack
        }
        var detected: [Buildpack] = []
        for (candidate, shown) in zip(candidates, try runner.detectAll(candidates, workspace, environment: environment))
        {
            guard let shown else { continue }
            var buildpack = candidate
            buildpack.name = shown
            detected.append(buildpack)
        }
        guard let first = detected.first else {
            throw BuildError(
                .noBuildpackDetected, "No default language could be detected for this app.",
                hint: "Add a Procfile, or choose a buildpack with -b (built-in: \(names.joined(separator: ", "))).")
        }
        // The procfile buildpack is the fallback; only real language matches count as ambiguous.
        let languages = detected.filter { $0.reference != .builtin("procfile") }
        if languages.count > 1 {
            console.step("Warning: several default buildpacks can build this app; the first one in the list is used.")
            console.detail(
                "Detected buildpacks: " + languages.map { "\($0.name) (\($0.reference))" }.joined(separator: ", "))
            console.detail("Choose one with -b, or list several in a .buildpacks file to run them all.")
        }
        console.step("\(first.name) app detected")
        return [first]
    }

    /// Gives a fetched buildpack's copy to the build user (it writes its `export` file there).
    private func handOver(_ buildpack: Buildpack) throws {
        try runner.plan?.prepare(buildpack.directory)
    }
}
