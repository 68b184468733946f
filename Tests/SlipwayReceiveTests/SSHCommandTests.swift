import SlipwayReceive
import SlipwaySpool
import Testing

@testable import SlipwayDoorRecords

/// The SSH command parser, table-style: every form git sends is accepted, everything else refused.
@Suite struct SSHCommandTests {
    struct Accepted: Sendable, CustomTestStringConvertible {
        var command: String
        var service: GitService
        var app: String
        var testDescription: String { command }
    }

    static let accepted: [Accepted] = [
        .init(command: "git-receive-pack 'myapp'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack 'myapp.git'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack '/myapp'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack '/myapp.git'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack '~/myapp'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack '~/myapp.git'", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack myapp", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack myapp.git", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack /myapp", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack /myapp.git", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack ~/myapp", service: .receivePack, app: "myapp"),
        .init(command: "git-receive-pack ~/myapp.git", service: .receivePack, app: "myapp"),
        .init(command: "git-upload-pack 'myapp'", service: .uploadPack, app: "myapp"),
        .init(command: "git-upload-pack '/myapp.git'", service: .uploadPack, app: "myapp"),
        .init(command: "git-upload-pack '~/myapp.git'", service: .uploadPack, app: "myapp"),
        .init(command: "git-upload-pack myapp", service: .uploadPack, app: "myapp"),
        .init(command: "git-receive-pack 'my-app-2'", service: .receivePack, app: "my-app-2"),
        .init(command: "git-receive-pack 'ab'", service: .receivePack, app: "ab"),
        .init(
            command: "git-receive-pack 'a23456789012345678901234567890'", service: .receivePack,
            app: "a23456789012345678901234567890"),
        .init(command: "  git-receive-pack   'myapp'  ", service: .receivePack, app: "myapp"),
    ]

    @Test(arguments: accepted)
    func accepts(_ row: Accepted) throws {
        #expect(try SSHCommand.parse(row.command) == GitRequest(service: row.service, app: row.app))
    }

    static let refused: [String?] = [
        nil, "", " ", "   ", "\t", " \t ",
        "ls", "ls -la", "sh", "bash -i", "scp -t /tmp", "scp -f /etc/passwd", "rsync --server .",
        "git-upload-archive 'app'", "git-upload-archive app", "git receive-pack 'app'", "git-shell -c 'ls'",
        "GIT-RECEIVE-PACK 'app'", "Git-Receive-Pack 'app'", "git-receive-pack", "git-receive-pack ",
        "git-receive-pack 'app' 'other'", "git-receive-pack 'app' --upload-pack=x", "git-receive-pack --help",
        "git-receive-pack 'app'; rm -rf /", "git-receive-pack 'app';id", "git-receive-pack 'app' | cat",
        "git-receive-pack 'app' && id", "git-receive-pack 'app' & id", "git-receive-pack 'app' || id",
        "git-receive-pack '$(id)'", "git-receive-pack $(id)", "git-receive-pack '${HOME}'", "git-receive-pack $HOME",
        "git-receive-pack '`id`'", "git-receive-pack `id`", "git-receive-pack 'app' > /tmp/x",
        "git-receive-pack < /etc/passwd", "git-receive-pack 'a\\pp'",
        "git-receive-pack \"app\"", "git-receive-pack \"app", "git-receive-pack 'app", "git-receive-pack app'",
        "git-receive-pack 'app''", "git-receive-pack ''app'", "git-receive-pack 'a'pp", "git-receive-pack a'pp'",
        "git-receive-pack 'app'\\''x'", "git-receive-pack ''", "git-receive-pack '.git'",
        "git-receive-pack 'app'\n", "git-receive-pack 'app'\nid", "git-receive-pack 'app\n'", "\n",
        "git-receive-pack 'app'\r", "git-receive-pack 'a\rpp'", "\r\n",
        "git-receive-pack 'app'\0", "git-receive-pack 'a\0pp'", "\0",
        "git-receive-pack '../other'", "git-receive-pack '..'", "git-receive-pack 'app/../other'",
        "git-receive-pack '~/../app'", "git-receive-pack '/../app'", "git-receive-pack '..app'",
        "git-receive-pack '/etc/passwd'", "git-receive-pack '/var/lib/slipway/apps/app'", "git-receive-pack '/'",
        "git-receive-pack '//app'", "git-receive-pack 'app/'", "git-receive-pack '/app/'", "git-receive-pack 'a/b'",
        "git-receive-pack 'app/.git'", "git-receive-pack 'app.git/'",
        "git-receive-pack '~root/app'", "git-receive-pack '~root'", "git-receive-pack '~'", "git-receive-pack '~/'",
        "git-receive-pack '~~/app'", "git-receive-pack ~root/app",
        "git-receive-pack '-oProxyCommand=x'", "git-receive-pack -oProxyCommand=x", "git-receive-pack '--help'",
        "git-receive-pack '/-app'", "git-receive-pack '~/-app'", "git-receive-pack '-app.git'",
        "git-receive-pack\t'app'", "git-receive-pack 'app'\t",
        String(repeating: "x", count: 10 * 1024 * 1024),
        "git-receive-pack '" + String(repeating: "a", count: 10 * 1024 * 1024) + "'",
        "git-receive-pack 'app'" + String(repeating: " ", count: SSHCommand.maximumLength),
    ]

    @Test(arguments: refused)
    func refuses(_ command: String?) {
        #expect(throws: SSHCommand.notServed) { try SSHCommand.parse(command) }
    }

    @Test func refusalIsOneLine() {
        #expect(SSHCommand.notServed.message == "slipway: only git push and git clone are served here")
        #expect(SSHCommand.notServed.code == .notGitCommand)
    }

    @Test func lengthLimitIsInclusive() throws {
        let command = "git-receive-pack 'myapp'"
        let padded = command + String(repeating: " ", count: SSHCommand.maximumLength - command.utf8.count)
        #expect(padded.utf8.count == SSHCommand.maximumLength)
        #expect(try SSHCommand.parse(padded).app == "myapp")
        #expect(throws: SSHCommand.notServed) { try SSHCommand.parse(padded + " ") }
    }

    struct BadName: Sendable, CustomTestStringConvertible {
        var command: String
        var printed: String
        var testDescription: String { command }
    }

    static let badNames: [BadName] = [
        .init(command: "git-receive-pack 'App'", printed: "App"),
        .init(command: "git-receive-pack 'MYAPP'", printed: "MYAPP"),
        .init(command: "git-receive-pack '/App.git'", printed: "App"),
        .init(command: "git-receive-pack 'аpp'", printed: "аpp"),  // Cyrillic а
        .init(command: "git-receive-pack 'myаpp'", printed: "myаpp"),
        .init(command: "git-receive-pack 'caf\u{E9}'", printed: "caf\u{E9}"),
        .init(command: "git-receive-pack 'a'", printed: "a"),
        .init(command: "git-receive-pack '1app'", printed: "1app"),
        .init(command: "git-receive-pack 'my_app'", printed: "my_app"),
        .init(command: "git-receive-pack 'my.app'", printed: "my.app"),
        .init(command: "git-receive-pack 'app.git.git'", printed: "app.git"),
        .init(command: "git-receive-pack 'app.GIT'", printed: "app.GIT"),
        .init(command: "git-receive-pack 'my app'", printed: "my app"),
        .init(
            command: "git-receive-pack 'a2345678901234567890123456789012'", printed: "a2345678901234567890123456789012"),
        .init(command: "git-receive-pack 'a\tb'", printed: "a\\u{9}b"),
        .init(command: "git-receive-pack 'x\u{1B}[31mred'", printed: "x\\u{1b}[31mred"),
        .init(command: "git-receive-pack 'app\u{202E}gpj'", printed: "app\\u{202e}gpj"),
        .init(command: "git-upload-pack 'a*'", printed: "a*"),
        .init(
            command: "git-receive-pack '" + String(repeating: "b", count: 100) + "'",
            printed: String(repeating: "b", count: 64) + "…"),
    ]

    @Test(arguments: badNames)
    func invalidAppName(_ row: BadName) {
        let expected = DoorError(
            .invalidName,
            "slipway: '\(row.printed)' is not a valid app name: use 2 to 30 lowercase letters, digits and dashes, starting with a letter"
        )
        #expect(throws: expected) { try SSHCommand.parse(row.command) }
    }

    @Test func thirtyOneCharacterNameIsRefused() {
        let name = "a" + String(repeating: "b", count: 30)
        #expect(name.count == 31)
        #expect(throws: DoorError.self) { try SSHCommand.parse("git-receive-pack '\(name)'") }
        #expect((try? SSHCommand.parse("git-receive-pack '\(name.dropLast())'"))?.app == String(name.dropLast()))
    }
}
