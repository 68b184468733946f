/// Where an app's log hands each line it writes, besides its file: the app's drains. ``AppLog`` calls it under its
/// lock, in the order the lines are written, so it must only hand the line on, never wait.
public protocol LogSink: AnyObject, Sendable {
    /// Takes `line`, just written to the app's log.
    func accept(_ line: LogLine)
}
