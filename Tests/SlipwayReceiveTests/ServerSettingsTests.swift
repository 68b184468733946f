import SlipwayReceive
import SlipwaySystem
import Testing

@Suite struct ServerSettingsTests {
    @Test func linesAreNameEqualsValueAsDockersEnvFile() throws {
        let settings = try ServerSettings.parse(
            """
            # the runtime store
            SLIPWAY_RUNTIME_STORE=https://runtimes.example.com/a=b "quoted"

              SLIPWAY_MAX_PUSH_MB=1024\r
            PATH=/opt/bin:/usr/bin
            SLIPWAY_WEBHOOK_ALLOW_PRIVATE=
            """)
        #expect(
            settings.values == [
                "SLIPWAY_RUNTIME_STORE": "https://runtimes.example.com/a=b \"quoted\"", "SLIPWAY_MAX_PUSH_MB": "1024",
                "PATH": "/opt/bin:/usr/bin", "SLIPWAY_WEBHOOK_ALLOW_PRIVATE": "",
            ])
    }

    @Test(arguments: [
        ("SLIPWAY_SANBOX=none\n", "slipway.env line 1: SLIPWAY_SANBOX is not a setting of Slipway's door"),
        ("\nLD_PRELOAD=/x.so\n", "slipway.env line 2: LD_PRELOAD is not a setting"),
        ("SLIPWAY_ROOT=/srv\n", "SLIPWAY_ROOT is not a setting"),
        ("SLIPWAY_SANDBOX\n", "slipway.env line 1: not NAME=value; write one setting per line"),
        ("TMPDIR=/a\nTMPDIR=/b\n", "slipway.env line 2: TMPDIR is set twice; keep one of the lines"),
    ])
    func aLineThatIsNotASettingIsNamed(text: String, problem: String) {
        #expect {
            try ServerSettings.parse(text)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test func theSettingsDoorsPassToBuildsAndReadThemselvesAreAccepted() {
        for name in ServerSetup.passedVariables + ["SLIPWAY_REDIS_SERVER", "SLIPWAY_WEBHOOK_ATTEMPTS", "PATH"] {
            #expect(ServerSettings.names.contains(name), "\(name)")
        }
        for name in [
            "SLIPWAY_ROOT", "SLIPWAY_APP", "SLIPWAY_USER", "SLIPWAY_RECEIVE_PACK", "SLIPWAY_LOCK_HELD", "HOME",
        ] {
            #expect(!ServerSettings.names.contains(name), "\(name) is the door's own, never the operator's")
        }
    }

    /// What an SSH client's session keeps: the command and addresses sshd sets, the account from the user database,
    /// and the file's settings; nothing else the client sent.
    @Test func anSSHSessionKeepsOnlyTheCommandAndTheFile() {
        let settings = ServerSettings(values: ["SLIPWAY_RUNTIME_STORE": "/srv/store", "PATH": "/opt/bin:/usr/bin"])
        let env = settings.sshSession(
            inherited: [
                "SSH_ORIGINAL_COMMAND": "git-receive-pack 'app'", "SSH_CONNECTION": "127.0.0.1 5 127.0.0.1 22",
                "SLIPWAY_SANDBOX": "none", "SLIPWAY_RUNTIME_STORE": "/evil", "HOME": "/evil", "USER": "root",
                "LD_PRELOAD": "/evil.so", "GIT_CONFIG_PARAMETERS": "x", "TMPDIR": "/evil",
            ], account: ProcessEnvironment.Account(name: "git", home: "/home/git"))
        #expect(
            env == [
                "SSH_ORIGINAL_COMMAND": "git-receive-pack 'app'", "SSH_CONNECTION": "127.0.0.1 5 127.0.0.1 22",
                "SLIPWAY_RUNTIME_STORE": "/srv/store", "PATH": "/opt/bin:/usr/bin", "LANG": "C.UTF-8",
                "HOME": "/home/git", "USER": "git", "LOGNAME": "git",
            ])
    }

    @Test func theOperatorsOwnEnvironmentWinsOverTheFile() {
        let settings = ServerSettings(values: ["SLIPWAY_MAX_PUSH_MB": "10", "SLIPWAY_LOCK_WAIT": "5"])
        #expect(
            settings.filling(["SLIPWAY_MAX_PUSH_MB": "20", "HOME": "/root"]) == [
                "SLIPWAY_MAX_PUSH_MB": "20", "SLIPWAY_LOCK_WAIT": "5", "HOME": "/root",
            ])
    }

    @Test func theAccountComesFromTheUserDatabase() throws {
        let account = try #require(ProcessEnvironment.account())
        #expect(!account.name.isEmpty && account.home.hasPrefix("/"))
    }
}
