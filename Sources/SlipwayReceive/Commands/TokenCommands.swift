import SlipwaySystem

/// `tokens`, `tokens:create`, `tokens:revoke`: a user's own API tokens for git over HTTPS. The operator's
/// equivalents, for any user, are `receive-pack tokens create|list|revoke`.
extension ManagementCommands {
    static let tokenCommands = [
        ManagementCommand(
            "tokens", "", "List your API tokens for git over HTTPS (id, created, last used).", arity: 0...0,
            servedLocally: false
        ) { run in
            let user = try run.tokenUser()
            let tokens = try TokenStore(root: run.root).list().filter { $0.user == user }
            guard !tokens.isEmpty else {
                run.out("No tokens yet: tokens:create makes one.")
                return
            }
            for line in tokenRows(tokens) { run.out(line) }
        },
        ManagementCommand(
            "tokens:create", "", "Create an API token: the password for git push over HTTPS (shown once).",
            arity: 0...0, servedLocally: false
        ) { run in
            let user = try run.tokenUser()
            let (secret, token) = try TokenStore(root: run.root).create(user: user)
            run.say("Created token \(token.id) for \(user). It is shown once: keep it in git's credential helper.")
            run.out(secret)
        },
        ManagementCommand(
            "tokens:revoke", "<id>", "Revoke one of your API tokens.", arity: 1...1, servedLocally: false
        ) { run in
            let user = try run.tokenUser()
            try TokenStore(root: run.root).revoke(id: run.arguments[0], as: user)
            run.say("Revoked token \(run.arguments[0]).")
        },
    ]

    /// `ID  USER  CREATED  LAST USED` rows with a header.
    public static func tokenRows(_ tokens: [APIToken]) -> [String] {
        alignedRows(
            [["ID", "USER", "CREATED", "LAST USED"]]
                + tokens.map { [$0.id, $0.user, $0.createdAt, $0.lastUsedAt ?? "never"] })
    }
}

extension Invocation {
    /// The user whose tokens a command manages: the SSH user (the operator uses `receive-pack tokens`).
    func tokenUser() throws -> String {
        guard case .user(let user) = actor else {
            throw DoorError(.usage, "slipway: on the server, use receive-pack tokens create|list|revoke")
        }
        return user
    }
}
