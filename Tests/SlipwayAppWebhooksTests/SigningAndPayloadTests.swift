import Crypto
import Foundation
import SlipwayAppWebhooks
import Testing

/// The signature every delivery carries, and the JSON bodies in Heroku's app-webhook shape.
struct SigningAndPayloadTests {
    @Test func theSignatureIsBase64HMACSHA256OfTheBody() {
        // RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let body = Data("The quick brown fox jumps over the lazy dog".utf8)
        let signature = WebhookSignature.sign(body, secret: "key")
        #expect(signature == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=")
        #expect(WebhookSignature.isValid(signature, body: body, secret: "key"))
        #expect(!WebhookSignature.isValid(signature, body: body + Data(" ".utf8), secret: "key"))
        #expect(!WebhookSignature.isValid(signature, body: body, secret: "other"))
        #expect(!WebhookSignature.isValid("not base64!", body: body, secret: "key"))
    }

    func object(_ payload: WebhookPayload) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: try payload.body())
        return try #require(json as? [String: Any])
    }

    @Test func aBuildEventHasHerokusShape() throws {
        let data = BuildData(
            id: "20261207-1", app: "shop", status: .failed, commit: "1a2b3c4d", user: "alice",
            createdAt: "2026-12-07T10:00:00Z", updatedAt: "2026-12-07T10:01:00Z",
            failureReason: "bin/compile failed (exit 1).")
        let payload = WebhookPayload(
            .buildFinished(data), eventID: "e1", deliveryID: "d1", webhookID: "w1", at: "2026-12-07T10:01:00Z")
        let json = try object(payload)
        #expect(json["action"] as? String == "update")
        #expect(json["resource"] as? String == "build")
        #expect((json["actor"] as? [String: Any])?["name"] as? String == "alice")
        #expect(json["version"] as? String == "application/vnd.heroku+json; version=3")
        let body = try #require(json["data"] as? [String: Any])
        #expect(body["status"] as? String == "failed")
        #expect(body["failure_reason"] as? String == "bin/compile failed (exit 1).")
        #expect((body["source_blob"] as? [String: Any])?["version"] as? String == "1a2b3c4d")
        #expect((body["app"] as? [String: Any])?["name"] as? String == "shop")
        let metadata = try #require(json["webhook_metadata"] as? [String: Any])
        #expect((metadata["delivery"] as? [String: Any])?["id"] as? String == "d1")
        #expect((metadata["event"] as? [String: Any])?["include"] as? String == "api:build")
        #expect((metadata["webhook"] as? [String: Any])?["id"] as? String == "w1")
        // The body decodes back to the same payload (what a Swift receiver, and the tests, read).
        #expect(try JSONDecoder().decode(WebhookPayload.self, from: try payload.body()) == payload)

        let started = WebhookPayload(
            .buildStarted(
                BuildData(
                    id: "b", app: "shop", status: .pending, commit: "c", user: "u", createdAt: "t",
                    updatedAt: "t")), eventID: "e", deliveryID: "d", webhookID: "w", at: "t")
        let startedJSON = try object(started)
        #expect(startedJSON["action"] as? String == "create")
        #expect((startedJSON["data"] as? [String: Any])?["failure_reason"] == nil)
    }

    @Test func aReleaseEventNamesTheVersionTheChangeAndWhoMadeIt() throws {
        let data = ReleaseData(
            app: "shop", version: 4, description: "Rollback to v2", user: "bob", sourceVersion: nil,
            createdAt: "2026-12-07T10:00:00Z")
        let json = try object(
            WebhookPayload(.releaseCreated(data), eventID: "e", deliveryID: "d", webhookID: "w", at: "now"))
        #expect(json["action"] as? String == "create")
        #expect(json["resource"] as? String == "release")
        let body = try #require(json["data"] as? [String: Any])
        #expect(body["version"] as? Int == 4)
        #expect(body["description"] as? String == "Rollback to v2")
        #expect((body["user"] as? [String: Any])?["name"] as? String == "bob")
        #expect(body["id"] as? String == "shop-v4")
        #expect(body["current"] as? Bool == true)
    }
}
