/// Answers one DNS query (RFC 1035, as a UDP datagram) from a ``RouteZone``: SRV records for an app's web dynos and
/// A records for their target names. Authoritative, no recursion, no compression in what it reads, TTL 0 (Caddy
/// keeps its own refresh). Only the router's Caddy asks, on loopback; anything malformed gets FORMERR or nothing.
enum DNSResponder {
    enum RecordType: UInt16 {
        case a = 1
        case srv = 33
    }

    enum ResponseCode: UInt16 {
        case noError = 0
        case formatError = 1
        case nameError = 3
        case notImplemented = 4
    }

    /// The response to `query`, nil when it is not even a DNS header.
    static func answer(_ query: [UInt8], zone: RouteZone) -> [UInt8]? {
        guard query.count >= 12 else { return nil }
        let flags = UInt16(query[2]) << 8 | UInt16(query[3])
        guard flags & 0x8000 == 0 else { return nil }  // a response, not a query
        let questions = UInt16(query[4]) << 8 | UInt16(query[5])
        guard (flags >> 11) & 0xF == 0 else { return header(query, flags, .notImplemented) }
        guard questions == 1, let question = parseQuestion(query, at: 12) else {
            return header(query, flags, .formatError)
        }
        let name = question.name
        var records: [(type: RecordType, data: [UInt8])] = []
        if let targets = zone.services[name] {
            if question.type == RecordType.srv.rawValue {
                records = targets.map { (.srv, srvData($0)) }
            }
        } else if let address = zone.addresses[name] {
            if question.type == RecordType.a.rawValue { records = [(.a, address)] }
        } else {
            return header(query, flags, .nameError, question: Array(query[12..<question.end]))
        }
        var out = header(query, flags, .noError, question: Array(query[12..<question.end]), answers: records.count)
        for record in records {
            out += [0xC0, 0x0C]  // the question's name
            out += be16(record.type.rawValue) + be16(1) + [0, 0, 0, 0] + be16(UInt16(record.data.count))
            out += record.data
        }
        return out
    }

    /// The question's name (lower case, no final dot), type, and where the question ends.
    static func parseQuestion(_ bytes: [UInt8], at start: Int) -> (name: String, type: UInt16, end: Int)? {
        var labels: [String] = []
        var index = start
        while true {
            guard index < bytes.count else { return nil }
            let length = Int(bytes[index])
            index += 1
            if length == 0 { break }
            guard length < 64, index + length <= bytes.count else { return nil }  // no compression in a query
            labels.append(String(decoding: bytes[index..<index + length], as: UTF8.self).lowercased())
            index += length
        }
        guard index + 4 <= bytes.count, labels.count < 128 else { return nil }
        let type = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        return (labels.joined(separator: "."), type, index + 4)
    }

    /// The response's header (the query's id and recursion-desired bit), then `question`.
    private static func header(
        _ query: [UInt8], _ flags: UInt16, _ code: ResponseCode, question: [UInt8] = [], answers: Int = 0
    ) -> [UInt8] {
        let responseFlags = 0x8000 | 0x0400 | (flags & 0x0100) | code.rawValue
        return [query[0], query[1]] + be16(responseFlags) + be16(question.isEmpty ? 0 : 1) + be16(UInt16(answers))
            + be16(0) + be16(0) + question
    }

    private static func srvData(_ target: RouteZone.Target) -> [UInt8] {
        be16(0) + be16(1) + be16(target.port) + encodeName(target.name)
    }

    static func encodeName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        return out + [0]
    }

    private static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}
