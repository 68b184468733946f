import Foundation

/// Test buildpacks: small shell scripts a test writes into its scratch folder.
public struct SpyBuildpack {
    /// The buildpack's folder.
    public let path: String

    /// Writes a buildpack named `name` under `scratch`. Each script is the body of a bash script (after
    /// `set -euo pipefail`); `nil` for `release` leaves `bin/release` out (it is optional in the API).
    public init(
        in scratch: ScratchDirectory, name: String, detect: String = "echo Spy", compile: String = "true",
        release: String? = nil
    ) throws {
        path = scratch.url("buildpacks/\(name)")
        try scratch.write("buildpacks/\(name)/bin/detect", Self.script(detect), mode: 0o755)
        try scratch.write("buildpacks/\(name)/bin/compile", Self.script(compile), mode: 0o755)
        if let release { try scratch.write("buildpacks/\(name)/bin/release", Self.script(release), mode: 0o755) }
    }

    static func script(_ body: String) -> String { "#!/usr/bin/env bash\nset -euo pipefail\n\(body)\n" }
}
