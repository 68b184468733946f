import Crypto
public import Foundation

extension WebhookSignature {
    /// base64(HMAC-SHA256(secret, body)).
    public static func sign(_ body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return Data(code).base64EncodedString()
    }

    /// Whether `signature` is `body`'s signature with `secret` (compared in constant time).
    public static func isValid(_ signature: String, body: Data, secret: String) -> Bool {
        guard let code = Data(base64Encoded: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            code, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }
}
