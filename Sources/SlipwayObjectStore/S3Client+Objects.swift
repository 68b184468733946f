import AsyncHTTPClient
import Crypto
public import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// What `HEAD` says about an object.
public struct ObjectInfo: Sendable, Equatable {
    public var size: Int64
    /// `x-amz-meta-*` values, by the name after the prefix.
    public var metadata: [String: String]
}

/// One key of a listing.
public struct ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int64
}

extension S3Client {
    /// `PUT` of a small body. With `createOnly`, sends `If-None-Match: *`, so that the write happens only if no
    /// object has the key: the server answers 412 otherwise, thrown as ``ObjectStoreError/Code/alreadyExists``.
    public func put(
        _ key: String, _ body: Data, createOnly: Bool = false, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:]
    ) async throws {
        var headers: [(name: String, value: String)] = [("content-type", contentType)]
        if createOnly { headers.append(("if-none-match", "*")) }
        for (name, value) in metadata { headers.append(("x-amz-meta-\(name)", value)) }
        _ = try await send(.PUT, key: key, headers: headers, body: ByteBuffer(data: body))
    }

    /// `CreateBucket` of the location's bucket (in the default region); an existing bucket of the same owner is fine.
    public func createBucket() async throws {
        _ = try await send(.PUT, key: nil, accept: [409])
    }

    /// `HEAD`: the object's size and metadata, nil when it does not exist.
    public func head(_ key: String) async throws -> ObjectInfo? {
        let response = try await send(.HEAD, key: key, accept: [404])
        guard response.status != 404 else { return nil }
        var metadata: [String: String] = [:]
        for header in response.headers where header.name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(header.name.lowercased().dropFirst("x-amz-meta-".count))] = header.value
        }
        let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
        return ObjectInfo(size: size, metadata: metadata)
    }

    /// `GET` of a small object (at most `limit` bytes); nil when it does not exist.
    public func get(_ key: String, limit: Int = 1 << 20) async throws -> Data? {
        let response = try await send(.GET, key: key, accept: [404], limit: limit)
        return response.status == 404 ? nil : response.body
    }

    /// `DELETE` (succeeds when the object is already gone).
    public func delete(_ key: String) async throws {
        _ = try await send(.DELETE, key: key, accept: [404])
    }

    /// Every key under `prefix` (relative to the location's prefix), in the server's order: UTF-8 byte order of keys.
    /// Keys are returned relative to the location's prefix too.
    public func list(_ prefix: String, startAfter: String? = nil) async throws -> [ObjectSummary] {
        var found: [ObjectSummary] = []
        var token: String?
        let strip = location.prefix.isEmpty ? 0 : location.prefix.count + 1
        repeat {
            var query = [(name: "list-type", value: "2"), ("prefix", location.key(prefix))]
            if let token { query.append(("continuation-token", token)) }
            if let startAfter, token == nil { query.append(("start-after", location.key(startAfter))) }
            let response = try await send(.GET, key: nil, query: query)
            let text = String(decoding: response.body, as: UTF8.self)
            for block in XMLText.blocks("Contents", in: text) {
                guard let key = XMLText.first("Key", in: block) else { continue }
                let size = XMLText.first("Size", in: block).flatMap { Int64($0) } ?? 0
                found.append(ObjectSummary(key: String(key.dropFirst(strip)), size: size))
            }
            token =
                XMLText.first("IsTruncated", in: text) == "true"
                ? XMLText.first("NextContinuationToken", in: text) : nil
        } while token != nil
        return found
    }

    /// Streams the object at `key` into a new file at `path`, hashing it on the way; throws
    /// ``ObjectStoreError/Code/digestMismatch`` (and removes the file) when its size or SHA-256 differs from what is
    /// expected, ``ObjectStoreError/Code/notFound`` when it is missing.
    public func download(_ key: String, to path: String, sha256: String, size: Int64) async throws {
        try await retrying("GET \(location.key(key))") {
            let request = try self.signedRequest(.GET, key: key, query: [], headers: [], body: ByteBuffer())
            let response = try await self.http.execute(request, timeout: .seconds(3600))
            guard response.status == .ok else {
                let body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                throw self.error(status: response.status.code, body: body, key: key)
            }
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]),
                let handle = FileHandle(forWritingAtPath: path)
            else {
                throw ObjectStoreError(.server, "cannot create \(path)")
            }
            defer { try? handle.close() }
            var hasher = SHA256()
            var count: Int64 = 0
            for try await buffer in response.body {
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                count += Int64(buffer.readableBytes)
                guard count <= size else { break }
                try handle.write(contentsOf: Data(buffer: buffer))
            }
            try handle.synchronize()
            let digest = SigV4.hex(Array(hasher.finalize()))
            guard count == size, digest == sha256 else {
                unlink(path)
                throw ObjectStoreError(
                    .digestMismatch,
                    "\(self.location.bucket)/\(self.location.key(key)) does not match its release: \(count) bytes "
                        + "with SHA-256 \(digest.prefix(12)), expected \(size) bytes with \(sha256.prefix(12))")
            }
        }
    }
}
