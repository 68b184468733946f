import Foundation
import SlipwayAppWebhooks
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// What `webhooks:add` accepts, and the app's webhooks file.
struct SubscriptionTests {
    @Test(arguments: [
        "https://example.com/hooks", "http://127.0.0.1:8080/h?x=1", "https://[::1]:443/", "HTTPS://Example.com",
    ])
    func aGoodURLIsTaken(_ url: String) throws {
        #expect(try AppWebhook.checkedURL(url) == url)
    }

    @Test(arguments: [
        "ftp://example.com/", "https://", "example.com/hooks", "https://exa mple.com/", "https://host:99999/",
        "https://host:0/", "javascript:alert(1)", "https://host/#frag", "https://host/\u{1b}[31m", "",
    ])
    func aBadURLIsRefusedInOneLine(_ url: String) {
        #expect(throws: WebhookError.self) { try AppWebhook.checkedURL(url) }
        do {
            _ = try AppWebhook.checkedURL(url)
        } catch {
            #expect(error.description.contains("is not a webhook URL"), "\(error)")
            #expect(!error.description.contains("\n") && !error.description.contains("\u{1b}"))
        }
    }

    @Test func credentialsInTheURLAreRefused() {
        #expect(throws: WebhookError.self) { try AppWebhook.checkedURL("https://user:pw@example.com/") }
    }

    @Test func includeTakesHerokusNamesAndShortOnes() throws {
        #expect(try WebhookEntity.parseList("release,build") == [.build, .release])
        #expect(try WebhookEntity.parseList("api:release") == [.release])
        #expect(try WebhookEntity.parseList("BUILD, build") == [.build])
        #expect(throws: WebhookError.self) { try WebhookEntity.parseList("deploy") }
        #expect(throws: WebhookError.self) { try WebhookEntity.parseList("") }
    }

    @Test func aSecretIsMadeWhenNoneIsGivenAndAGivenOneIsChecked() throws {
        let made = AppWebhook.generatedSecret()
        #expect(made.count == 64 && made.allSatisfy(\.isHexDigit))
        #expect(made != AppWebhook.generatedSecret())
        #expect(try AppWebhook.checkedSecret("s3cret-value") == "s3cret-value")
        #expect(throws: WebhookError.self) { try AppWebhook.checkedSecret("short") }
        #expect(throws: WebhookError.self) { try AppWebhook.checkedSecret("has a space in it") }
    }

    @Test func webhooksAreAddedListedAndRemovedByIdOrURL() throws {
        let scratch = try ScratchDirectory("webhooks")
        let layout = RootLayout(scratch.path)
        _ = try scratch.makeDirectory("apps/shop")
        let hooks = AppWebhooks(layout: layout, app: "shop")
        let first = try hooks.add(url: "https://a.example/h", include: [.release], secret: nil)
        let second = try hooks.add(url: "https://b.example/h", include: [.build, .release], secret: "given-secret")
        #expect(try hooks.load() == [first, second])
        #expect(second.secret == "given-secret")
        #expect(throws: WebhookError.self) { try hooks.add(url: "https://a.example/h", include: [.build], secret: nil) }
        // The file holds the secrets: nobody but the server's user reads it.
        let mode = try FileManager.default.attributesOfItem(atPath: layout.appWebhooks("shop"))[.posixPermissions]
        #expect((mode as? Int) == 0o600)

        let listing = AppWebhooks.listing(try hooks.load(), app: "shop")
        #expect(listing.first == "=== shop webhooks")
        #expect(listing.count == 3 && listing[2].contains("https://b.example/h  api:build,api:release"))
        #expect(!listing.joined().contains("given-secret"))

        #expect(try hooks.remove("https://a.example/h") == first)
        #expect(try hooks.remove(String(second.id.prefix(8))) == second)
        #expect(try hooks.load().isEmpty)
        #expect(throws: WebhookError.self) { try hooks.remove(second.id) }
    }
}
