import ArgumentParser
import Foundation
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySpool

extension ReceivePack {
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Maintain the authorized_keys file: who may connect, as which user.",
            subcommands: [Add.self, List.self, Remove.self])

        /// The options every keys command takes.
        struct FileOptions: ParsableArguments {
            @OptionGroup var root: RootOption
            @Option(
                help: ArgumentHelp("The authorized_keys file. (default: <root>/authorized_keys)", valueName: "file"))
            var authorizedKeys: String?

            var file: AuthorizedKeys {
                let root = root.resolved
                return AuthorizedKeys(
                    path: authorizedKeys ?? root.authorizedKeys, receivePackPath: ServerSetup.currentExecutable,
                    root: root.path)
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Authorize a public key for a user.")
            @OptionGroup var options: FileOptions
            @Argument(help: "The user ([a-z][a-z0-9_-]{0,31}).") var user: String
            @Argument(
                help: ArgumentHelp(
                    "The public key file (for example id_ed25519.pub), or - for stdin.", valueName: "pubkey-file|-"))
            var keyFile: String = "-"

            func run() throws {
                try reporting {
                    let data =
                        keyFile == "-"
                        ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: keyFile)
                    guard let data else { throw DoorError(.storage, lines: "Cannot read the key file \(keyFile).") }
                    var text = String(decoding: data, as: UTF8.self)
                    while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                    let key = try PublicKey(parsing: text)
                    try options.file.add(user: user, key: key)
                    print("Added \(key.type) key \(key.fingerprint) for \(user).")
                    if !key.isSupportedByBuiltinServer {
                        print(
                            "Note: \(key.type) keys work through OpenSSH only; the built-in server (receive-pack serve) accepts ed25519 and ECDSA keys."
                        )
                    }
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the authorized keys.")
            @OptionGroup var options: FileOptions

            func run() throws {
                try reporting {
                    for entry in try options.file.list() {
                        print("\(entry.user)\t\(entry.key.type)\t\(entry.key.fingerprint)\t\(entry.key.comment)")
                    }
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove every key of a user.")
            @OptionGroup var options: FileOptions
            @Argument(help: "The user.") var user: String

            func run() throws {
                try reporting {
                    let count = try options.file.remove(user: user)
                    print("Removed \(count) key\(count == 1 ? "" : "s") of \(user).")
                }
            }
        }
    }
}
