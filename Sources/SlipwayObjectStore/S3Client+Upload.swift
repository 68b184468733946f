import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

extension S3Client {
    /// Files up to this size go in one `PUT`; larger ones in parts of this size (S3's minimum part is 5 MiB).
    public static let partSize = 8 << 20
    /// Parts in flight at once: the memory an upload holds is at most this many parts.
    public static let partsInFlight = 4

    /// Uploads the file at `path` as `key`, in one `PUT` or, past ``partSize``, as a multipart upload whose parts
    /// are read from the file as they are sent (never the whole file in memory). Each part is signed with its own
    /// SHA-256, so the server rejects a part damaged on the way. A failed multipart upload is aborted, so the key
    /// never appears half-written.
    public func upload(file path: String, to key: String, metadata: [String: String] = [:]) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ObjectStoreError(.server, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ObjectStoreError(.server, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int64(info.st_size)
        if size <= Self.partSize {
            var headers: [(name: String, value: String)] = [("content-type", "application/octet-stream")]
            for (name, value) in metadata { headers.append(("x-amz-meta-\(name)", value)) }
            let body = try Self.read(fd: fd, offset: 0, count: Int(size), path: path)
            _ = try await send(.PUT, key: key, headers: headers, body: body)
            return
        }
        var headers: [(name: String, value: String)] = [("content-type", "application/octet-stream")]
        for (name, value) in metadata { headers.append(("x-amz-meta-\(name)", value)) }
        let created = try await send(.POST, key: key, query: [("uploads", "")], headers: headers)
        guard let uploadID = XMLText.first("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
            throw ObjectStoreError(.server, "the S3 server started a multipart upload of \(key) without an UploadId")
        }
        do {
            let count = Int((size + Int64(Self.partSize) - 1) / Int64(Self.partSize))
            var etags = [String](repeating: "", count: count)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for number in 0..<count {
                    if number >= Self.partsInFlight, let (done, etag) = try await group.next() { etags[done] = etag }
                    group.addTask {
                        let offset = Int64(number) * Int64(Self.partSize)
                        let length = Int(min(Int64(Self.partSize), size - offset))
                        let body = try Self.read(fd: fd, offset: offset, count: length, path: path)
                        let response = try await self.send(
                            .PUT, key: key, query: [("partNumber", String(number + 1)), ("uploadId", uploadID)],
                            body: body)
                        return (number, response.headers.first(name: "etag") ?? "")
                    }
                }
                while let (done, etag) = try await group.next() { etags[done] = etag }
            }
            let parts = etags.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLText.encode($0.element))</ETag></Part>"
            }
            let xml = "<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>"
            let done = try await send(.POST, key: key, query: [("uploadId", uploadID)], body: ByteBuffer(string: xml))
            // S3 may answer 200 with an error in the body when completing fails late.
            let text = String(decoding: done.body, as: UTF8.self)
            if text.contains("<Error>") {
                throw self.error(status: 500, body: done.body, key: key)
            }
        } catch {
            _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadID)], accept: [404])
            throw error
        }
    }

    /// `count` bytes of `fd` from `offset`, read straight into the buffer that is sent.
    static func read(fd: Int32, offset: Int64, count: Int, path: String) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        while buffer.readableBytes < count {
            let done = buffer.readableBytes
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                var n: Int
                repeat { n = pread(fd, base, count - done, off_t(offset) + off_t(done)) } while n < 0 && errno == EINTR
                return max(n, 0)
            }
            guard got > 0 else {
                throw ObjectStoreError(.server, "cannot read \(path): it changed or shrank while it was uploaded")
            }
        }
        return buffer
    }
}
