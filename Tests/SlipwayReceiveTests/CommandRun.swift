import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySystem

/// Runs the management command `words` in-process on `root` as `actor`, the way the door does: its exit status, what
/// it printed for the user (stdout) and what it said on the console (stderr). `prepare` sets what else the session
/// has (its environment, its descriptors).
func runCommand(
    _ words: [String], root: SlipwayRoot, as actor: Actor, prepare: (inout CommandContext) -> Void = { _ in }
) -> (status: Int32, out: String, err: String) {
    let output = Console(.buffer)
    let console = Console(.buffer)
    var context = CommandContext(root: root, actor: actor, output: output, console: console, signals: nil)
    prepare(&context)
    let status = ManagementCommands.run(words, context: context)
    return (status, output.captured, console.captured)
}
