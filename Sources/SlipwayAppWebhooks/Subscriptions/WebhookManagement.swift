public import SlipwaySpool

/// What the webhook commands do once the door has checked the user's access to the app: `webhooks`, `webhooks:add`,
/// `webhooks:remove`, `webhooks:deliveries`. Each returns its lines: `out` (the result, stdout) and `say` (progress
/// and confirmations, stderr).
public enum WebhookManagement {
    public struct Output: Sendable, Equatable {
        public var out: [String] = []
        public var say: [String] = []
    }

    /// One command as the door's table lists it: the name, what follows it, one sentence for `help`, how many
    /// positional arguments (the app first), and the options that take a value.
    public struct Command: Sendable {
        public var name: String
        public var arguments: String
        public var summary: String
        public var arity: ClosedRange<Int>
        public var valueOptions: [String] = []
    }

    /// The commands, in the order `help` lists them.
    public static let commands = [
        Command(
            name: "webhooks", arguments: "<app>",
            summary: "List the app's webhooks: id, URL, events (api:build, api:release).", arity: 1...1),
        Command(
            name: "webhooks:add", arguments: "<app> <url> [options…]",
            summary:
                "Send build and release events to a URL, signed (--include release,build; --secret S, or one made).",
            arity: 2...2, valueOptions: ["--include", "--secret"]),
        Command(
            name: "webhooks:remove", arguments: "<app> <id|url>",
            summary: "Remove a webhook and its queued deliveries.", arity: 2...2),
        Command(
            name: "webhooks:deliveries", arguments: "<app>",
            summary: "List the app's last webhook deliveries: event, attempts, result.", arity: 1...1),
    ]

    /// Runs command `name` for `app` (access already checked) with the positional `arguments` (the app first), the
    /// options' `values`, and the door's `environment`.
    public static func run(
        _ name: String, layout: RootLayout, app: String, arguments: [String], values: [String: String],
        environment: [String: String]
    ) throws(WebhookError) -> Output {
        switch name {
        case "webhooks": return try list(layout, app: app)
        case "webhooks:add":
            return try add(
                layout, app: app, url: arguments[1], include: values["--include"], secret: values["--secret"],
                environment: environment)
        case "webhooks:remove": return try remove(layout, app: app, arguments[1])
        default: return deliveries(layout, app: app)
        }
    }

    /// `webhooks <app>`.
    public static func list(_ layout: RootLayout, app: String) throws(WebhookError) -> Output {
        Output(out: AppWebhooks.listing(try AppWebhooks(layout: layout, app: app).load(), app: app))
    }

    /// `webhooks:add <app> <url> [--include release,build] [--secret S]`: both entities unless `include` names them;
    /// a private receiver only where `environment` allows it (``ReceiverAddress``).
    public static func add(
        _ layout: RootLayout, app: String, url: String, include: String?, secret: String?,
        environment: [String: String]
    ) throws(WebhookError) -> Output {
        let entities = try WebhookEntity.parseList(include ?? "release,build")
        let hook = try AppWebhooks(layout: layout, app: app).add(
            url: url, include: entities, secret: secret, allowPrivate: ReceiverAddress.privateAllowed(environment))
        var output = Output(
            say: [
                "Adding webhook \(hook.id) (\(hook.include.map(\.rawValue).joined(separator: ","))) to \(app)... done"
            ])
        if secret == nil {
            output.say.append("The secret that signs every delivery (shown this once):")
            output.out.append(hook.secret)
        }
        return output
    }

    /// `webhooks:remove <app> <id|url>`: the webhook and its deliveries still queued.
    public static func remove(_ layout: RootLayout, app: String, _ idOrURL: String) throws(WebhookError) -> Output {
        let removed = try AppWebhooks(layout: layout, app: app).remove(idOrURL)
        DeliveryQueue(layout: layout).drop(app: app, webhook: removed.id)
        return Output(say: ["Removing webhook \(removed.id) from \(app)... done"])
    }

    /// `webhooks:deliveries <app>`.
    public static func deliveries(_ layout: RootLayout, app: String) -> Output {
        Output(
            out: DeliveryLog.listing(
                records: DeliveryLog(layout: layout, app: app).records(),
                queued: DeliveryQueue(layout: layout).pending(app: app), app: app))
    }
}
