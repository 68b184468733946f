import Crypto
import Foundation
import SlipwayDoorRecords

/// The forges whose push webhooks deploy an app: each signs its deliveries its own way.
public enum Forge: String, Sendable, CaseIterable {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, `X-GitHub-Event`, `X-GitHub-Delivery`.
    case github
    /// `X-Gitlab-Token: <the secret>`, `X-Gitlab-Event: Push Hook`, `X-Gitlab-Event-UUID` (or `Idempotency-Key`).
    case gitlab
    /// `X-Gitea-Signature: <hex HMAC-SHA256 of the body>`, `X-Gitea-Event`, `X-Gitea-Delivery`.
    case gitea
}

/// What a webhook delivery asks for, once its signature is checked.
public enum WebhookEvent: Equatable, Sendable {
    /// A push that moved `branch` to `commit`.
    case push(Push)
    /// Anything else, with the reason it does not deploy.
    case ignored(String)

    /// A push event: what to fetch, and where to report the commit status.
    public struct Push: Equatable, Sendable {
        public var branch: String
        public var commit: String
        /// The delivery's id, so that a redelivery builds once.
        public var delivery: String
        /// GitHub and Gitea: `owner/repo`; GitLab: the project's numeric id.
        public var repository: String
        /// The forge's web address of the repository (its origin is the default API base).
        public var webURL: String?

        public init(branch: String, commit: String, delivery: String, repository: String, webURL: String?) {
            self.branch = branch
            self.commit = commit
            self.delivery = delivery
            self.repository = repository
            self.webURL = webURL
        }
    }
}

extension Forge {
    /// Checks the delivery's signature against `secret` (in constant time), then reads the event. `headers` are keyed
    /// by lower-cased header name.
    public func verify(headers: [String: String], body: [UInt8], secret: String) throws -> WebhookEvent {
        let valid: Bool
        switch self {
        case .github:
            let given = headers["x-hub-signature-256"] ?? ""
            valid =
                given.hasPrefix("sha256=") && Self.hmacMatches(String(given.dropFirst(7)), body: body, secret: secret)
        case .gitlab:
            valid = TokenStore.constantTimeEqual(Array((headers["x-gitlab-token"] ?? "").utf8), Array(secret.utf8))
        case .gitea:
            valid = Self.hmacMatches(headers["x-gitea-signature"] ?? "", body: body, secret: secret)
        }
        guard valid, !secret.isEmpty else {
            throw DoorError(.badSignature, "slipway: the \(rawValue) signature does not match the app's webhook secret")
        }
        return try event(headers: headers, body: body)
    }

    /// The event of a delivery whose signature was checked.
    func event(headers: [String: String], body: [UInt8]) throws -> WebhookEvent {
        let (eventHeader, deliveryHeaders, pushName) =
            switch self {
            case .github: ("x-github-event", ["x-github-delivery"], "push")
            case .gitlab: ("x-gitlab-event", ["x-gitlab-event-uuid", "idempotency-key"], "Push Hook")
            case .gitea: ("x-gitea-event", ["x-gitea-delivery"], "push")
            }
        let name = headers[eventHeader] ?? ""
        guard name == pushName else {
            return .ignored("\(name.isEmpty ? "an event without a name" : "event '\(name)'") is not a push")
        }
        guard let delivery = deliveryHeaders.lazy.compactMap({ headers[$0] }).first(where: { !$0.isEmpty }) else {
            throw DoorError(.malformedDelivery, "slipway: the delivery has no id (\(deliveryHeaders[0]))")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let ref = json["ref"] as? String, let after = json["after"] as? String
        else { throw DoorError(.malformedDelivery, "slipway: the body is not a \(rawValue) push payload") }
        guard ref.hasPrefix("refs/heads/") else { return .ignored("\(ref) is not a branch") }
        guard after.count == 40, after.allSatisfy(\.isHexDigit), after != String(repeating: "0", count: 40) else {
            return .ignored("the push deleted \(ref)")
        }
        let repository: String
        var webURL: String?
        if self == .gitlab {
            let project = json["project"] as? [String: Any]
            guard let id = (json["project_id"] as? Int) ?? (project?["id"] as? Int) else {
                throw DoorError(.malformedDelivery, "slipway: the gitlab payload has no project_id")
            }
            repository = String(id)
            webURL = project?["web_url"] as? String
        } else {
            let repo = json["repository"] as? [String: Any]
            guard let fullName = repo?["full_name"] as? String else {
                throw DoorError(.malformedDelivery, "slipway: the \(rawValue) payload has no repository.full_name")
            }
            repository = fullName
            webURL = repo?["html_url"] as? String
        }
        return .push(
            .init(
                branch: String(ref.dropFirst("refs/heads/".count)), commit: after.lowercased(), delivery: delivery,
                repository: repository, webURL: webURL))
    }

    static func hmacMatches(_ hex: String, body: [UInt8], secret: String) -> Bool {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        let expected = Array(mac.map { String(format: "%02x", $0) }.joined().utf8)
        return TokenStore.constantTimeEqual(Array(hex.lowercased().utf8), expected)
    }
}
