import Crypto
import Foundation
import NIOHTTP1
import SlipwayDoorRecords
import SlipwayHTTP
import SlipwaySpool
import SlipwaySystem

/// The deliveries an app has seen (`<app>/webhook-deliveries`, the last 1000), each by its id and by the SHA-256 of
/// its signed payload, so a redelivery builds once, and so does the same signed payload replayed under a new
/// delivery id (the id is a header, outside the signature).
struct Deliveries {
    let app: AppPaths
    var path: String { "\(app.directory)/webhook-deliveries" }

    /// Records the delivery `id` of `payload`; false if either was there already.
    func record(_ id: String, payload: [UInt8]) throws -> Bool {
        let id = String(id.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(100))
        let digest = "sha256:" + SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
        return try StateFiles.withExclusiveLock("\(path).lock") {
            var lines = StateFiles.lines(of: try StateFiles.contents(of: path) ?? Data()).map {
                String(decoding: $0, as: UTF8.self)
            }
            if lines.contains(digest) || (!id.isEmpty && lines.contains(id)) { return false }
            lines += [id, digest]
            try StateFiles.writeAtomically(Data((lines.suffix(2000).joined(separator: "\n") + "\n").utf8), to: path)
            return true
        }
    }
}

/// Sends commit statuses to the forge's API with async-http-client (the token only in a request header, never in a
/// log line or a process's arguments), and only to the API the operator configured: `forge-api`, or the default for
/// the app's source URL; never to an address a delivery names.
struct StatusReporter {
    var forge: Forge
    var source: SourceSettings
    var push: WebhookEvent.Push
    var app: String
    var console: Console

    func send(_ state: CommitStatus.State, _ description: String) {
        guard let token = source.statusToken,
            let api = source.api ?? CommitStatus.defaultAPI(forge: forge, sourceURL: source.url)
        else { return }
        // The repository is a path segment of the API's URL: owner/name (GitHub, Gitea) or a number (GitLab).
        let parts = push.repository.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2,
            parts.allSatisfy({ part in
                !part.isEmpty && part != "." && part != ".."
                    && part.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
            })
        else {
            console.raw("slipway: the delivery's repository name is not owner/name; no status was sent")
            return
        }
        let status = CommitStatus(state: state, description: description, context: "slipway/\(app)")
        let request = status.request(
            forge: forge, api: api, repository: push.repository, commit: push.commit, token: token)
        guard let scheme = URL(string: request.url)?.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
            console.raw("slipway: the \(forge.rawValue) API address must be https:// or http://; no status was sent")
            return
        }
        do {
            let body = try JSONSerialization.data(withJSONObject: request.body, options: [.sortedKeys])
            var headers = request.headers
            headers.add(name: "Content-Type", value: "application/json")
            let code = try SharedHTTPClient.sendWaiting(
                .POST, request.url, headers: headers, body: body, timeout: .seconds(30)
            ).status
            if !(200..<300).contains(code) {
                console.raw("slipway: the \(forge.rawValue) commit status was not accepted (HTTP \(code))")
            }
        } catch {
            console.raw("slipway: cannot send the \(forge.rawValue) commit status: \(error)")
        }
    }
}
