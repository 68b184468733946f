import SlipwayAppWebhooks

/// `webhooks`, `webhooks:add`, `webhooks:remove`, `webhooks:deliveries`: the app's outgoing webhooks, told of its
/// builds and releases (``WebhookManagement``; docs/app-webhooks.md). Not the forges' incoming ones (`apps:webhook`).
extension ManagementCommands {
    static let webhookCommands = WebhookManagement.commands.map { spec in
        var command = ManagementCommand(spec.name, spec.arguments, spec.summary, arity: spec.arity) { run in
            let output = try WebhookManagement.run(
                spec.name, layout: run.root.layout, app: try run.app().paths.name, arguments: run.arguments,
                values: run.values, environment: run.context.environment)
            for line in output.say { run.say(line) }
            for line in output.out { run.out(line) }
        }
        command.valueOptions = spec.valueOptions
        return command
    }
}
