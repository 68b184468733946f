import ArgumentParser
import Foundation
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySwarm
import SlipwaySystem
import SlugRunner

/// `slugrunner`: the reference runner of Slipway's spool. Thin: it parses arguments and calls the SlugRunner
/// library.
@main
struct Slugrunner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slugrunner",
        abstract: "Run the releases Slipway hands over through its spool.",
        version: "0.1.0",
        subcommands: [Run.self, Watch.self, Logs.self, PS.self, Scale.self, DynoDisk.self])
}

/// `--root`, shared by every command.
struct RootOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server's folder, as given to receive-pack. (default: $SLIPWAY_ROOT, else \(RunnerRoot.defaultPath))",
            valueName: "dir"))
    var root: String?

    var resolved: RunnerRoot { RunnerRoot.resolve(root) }
}

/// `--host`, shared by `run` and `watch`.
struct HostOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The IPv4 address where ports are chosen, web processes are checked and URLs point.", valueName: "address"))
    var host: String = ListenAddress.loopback.host

    func address() throws -> ListenAddress {
        guard let address = ListenAddress(ipv4: host) else {
            throw ValidationError("--host \(host) is not an IPv4 address such as 127.0.0.1")
        }
        return address
    }
}

/// Writes one line to stderr.
func sayOnStderr(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body`, turning the runner's errors into one line on stderr and exit `code`.
func reporting<T>(exitCode code: Int32 = 1, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RunnerError {
        sayOnStderr(error.description)
        throw ExitCode(code)
    } catch let error as DockerError {
        sayOnStderr(error.description)
        throw ExitCode(code)
    } catch let error as SystemError {
        sayOnStderr("slugrunner: \(error)")
        throw ExitCode(code)
    }
}

/// Seconds given on the command line as a duration.
func duration(_ seconds: Double, _ flag: String) throws -> Duration {
    guard seconds.isFinite, seconds >= 0 else { throw ValidationError("\(flag) takes a number of seconds, 0 or more") }
    return .milliseconds(Int64((seconds * 1000).rounded()))
}
