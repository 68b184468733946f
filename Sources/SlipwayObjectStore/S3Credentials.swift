public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The access key pair that signs requests. Its `description` never shows the secret, so it cannot reach a log.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "S3 credentials \(accessKeyID) (secret hidden)" }

    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` when both are set, else the file at `file` (if given), which
    /// must be mode 0600 or stricter and hold the same two `NAME=value` lines.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, file: String?
    ) throws -> S3Credentials {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        {
            return S3Credentials(accessKeyID: id, secretAccessKey: secret)
        }
        guard let file, FileManager.default.fileExists(atPath: file) else {
            throw ObjectStoreError(
                .credentials,
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write them to "
                    + "\(file ?? "the credentials file") (mode 0600)")
        }
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw ObjectStoreError(.credentials, "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ObjectStoreError(
                .credentials,
                "\(file) holds S3 credentials but others may read it: chmod 600 \(file)")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ObjectStoreError(.credentials, "cannot read \(file)")
        }
        let values = parse(text)
        guard let id = values["AWS_ACCESS_KEY_ID"], let secret = values["AWS_SECRET_ACCESS_KEY"] else {
            throw ObjectStoreError(
                .credentials, "\(file) must hold AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines")
        }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// `NAME=value` lines; blank lines and `#` comments skipped.
    static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            values[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        return values
    }
}
