public import SlipwaySystem

extension SignalWatcher {
    /// Throws ``BuildError/Code/interrupted(signal:)`` if a cancelling signal has arrived.
    public func check(phase: BuildPhase) throws {
        if let signal = poll() {
            throw BuildError(
                .interrupted(signal: signal), "The build was interrupted (\(signalName(signal))).", phase: phase)
        }
    }
}
