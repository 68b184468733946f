import Foundation
import SlipwayTestSupport
import Testing

/// How the Node.js buildpack reads package.json's `engines.node` (`buildpacks/nodejs/lib/engines.sh`), run by bash as
/// bin/compile runs it: each common form picks the newest served version it allows, and any other form is refused.
@Suite struct NodeEnginesTests {
    /// The versions a store serves, newest first, as runtime-index lists them.
    static let served = ["22.3.0", "20.20.2", "20.11.0", "18.20.4", "18.19.1", "18.19.0", "16.20.2"]

    /// The version each of `ranges` takes from ``served`` (empty: none fits), or the buildpack's failure line.
    func choose(_ ranges: [String]) throws -> [String] {
        let script = """
            set -euo pipefail
            source "$1/lib/common.sh"
            source "$1/lib/engines.sh"
            served="$2"
            shift 2
            for range in "$@"; do
                request="$(node-version-request "$range" 2>&1)" || { echo "$request"; continue; }
                read -r prefix lowest <<<"$request"
                echo "$(tr ' ' '\\n' <<<"$served" | node-newest-version "$prefix" "$lowest")"
            done
            """
        let result = try runTool(
            [
                "/bin/bash", "-c", script, "test", "\(TestPaths.builtinBuildpacks)/nodejs",
                Self.served.joined(separator: " "),
            ] + ranges)
        #expect(result.status == 0, "\(result.output)")
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func eachCommonFormTakesTheNewestVersionItAllows() throws {
        let cases: [(String, String)] = [
            ("18", "18.20.4"), ("18.x", "18.20.4"), ("18.*", "18.20.4"), ("v16", "16.20.2"), ("^18.1", "18.20.4"),
            ("^20.12", "20.20.2"), ("~18.19.0", "18.19.1"), ("~18", "18.20.4"), (">=16", "22.3.0"),
            (">= 19", "22.3.0"), ("18.19.0", "18.19.0"), ("=v18.19.0", "18.19.0"), ("20.11", "20.11.0"),
            ("20.11.x", "20.11.0"), ("", "22.3.0"), ("*", "22.3.0"),
            // Nothing served fits: bin/compile then lets runtime-install name the range and the served versions.
            ("~20.11.1", ""), (">=23", ""), ("19", ""), ("18.19.2", ""),
        ]
        let chosen = try choose(cases.map(\.0))
        #expect(chosen.count == cases.count, "\(chosen)")
        for (index, (range, expected)) in cases.enumerated() where index < chosen.count {
            #expect(chosen[index] == expected, "engines.node '\(range)'")
        }
    }

    @Test func otherFormsAreRefusedNamingTheFormAndWhatToWrite() throws {
        let ranges = [">=18 <21", "18 || 20", "18 - 20", ">16", "<20", "lts/*", "18.x.1", "latest"]
        let refused = try choose(ranges)
        #expect(refused.count == ranges.count, "\(refused)")
        for (range, line) in zip(ranges, refused) {
            #expect(
                line
                    == " !     package.json's engines.node is '\(range)', a form this server does not read: write a version such as 24, 24.x, ^24.11, ~24.11.1, >=22 or 24.11.1 there."
            )
        }
    }
}
