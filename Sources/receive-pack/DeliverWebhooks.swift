import ArgumentParser
import Foundation
import SlipwayAppWebhooks
import SlipwayReceive

/// `receive-pack deliver-webhooks`: sends the queued webhook deliveries, with retries, and exits when none is left.
struct DeliverWebhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver-webhooks",
        abstract: "Send the apps' queued webhook deliveries, retrying failed ones, and exit when none is left.",
        discussion:
            "The door starts it (detached) after each event; a second one leaves at once while one is at work. Run it "
            + "at boot to send what a restart interrupted.")
    @OptionGroup var root: RootOption

    func run() throws {
        let layout = root.resolved.layout
        _ = WebhookDeliverer(layout: layout, policy: .from(environment: ProcessInfo.processInfo.environment)).run()
    }
}
