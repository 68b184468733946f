import ArgumentParser
import Foundation
import SlipwayDoorRecords
import SlipwayReceive

extension ReceivePack {
    struct Apps: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage apps and who may push to them.",
            subcommands: [List.self, Create.self, AddCollaborator.self, Destroy.self], defaultSubcommand: List.self)

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the apps with their current release, owner and collaborators.")
            @OptionGroup var root: RootOption

            func run() throws {
                throw ExitCode(ManagementCommands.runLocal("apps", arguments: [], root: root.resolved))
            }
        }

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an app before its first push.")
            @OptionGroup var root: RootOption
            @Argument(help: "The app's name ([a-z][a-z0-9-]{1,29}).") var app: String
            @Option(help: "The app's owner.") var owner: String

            func run() throws {
                try reporting {
                    _ = try AppRegistry(root: root.resolved).create(app, owner: owner)
                    print("Created \(app), owned by \(owner).")
                }
            }
        }

        struct AddCollaborator: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add-collaborator", abstract: "Let another user push to and clone an app.")
            @OptionGroup var root: RootOption
            @Argument(help: "The app.") var app: String
            @Argument(help: "The user.") var user: String

            func run() throws {
                try reporting {
                    try AppRegistry(root: root.resolved).addCollaborator(user, to: app)
                    print("\(user) can now push to \(app).")
                }
            }
        }

        struct Destroy: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Delete an app: its repository, releases, cache and logs (spool entries already handed off stay).")
            @OptionGroup var root: RootOption
            @Argument(help: "The app.") var app: String
            @Option(help: "The app's name again, to confirm.") var confirm: String

            func validate() throws {
                guard confirm == app else {
                    throw ValidationError("--confirm must repeat the app's name (\(app)) exactly.")
                }
            }

            func run() throws {
                try reporting {
                    try AppRegistry(root: root.resolved).destroy(app)
                    print("Destroyed \(app).")
                }
            }
        }
    }
}
