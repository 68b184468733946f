import SlipwayRunnerKit
public import SlipwaySpool

extension RunnerReleaseKey {
    /// The key of `slugrunner watch` and `run`: `--release-key <file>`, else the door's on the same root; a missing or
    /// damaged one is a ``RunnerError`` that says what to do.
    public static func loadForRunner(file: String?, root: RootLayout) throws -> RunnerReleaseKey {
        do {
            return try load(file: file, root: root)
        } catch let error as ReleaseKeyError {
            throw RunnerError(.notFound, "slugrunner: \(error)")
        }
    }
}
