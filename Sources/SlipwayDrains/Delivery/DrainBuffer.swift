public import Foundation

/// A drain's bounded buffer of lines waiting to be sent: at most `capacity` lines; when it is full, the oldest line
/// is dropped to make room and counted, with the time of the first drop, for the L10 line.
public struct DrainBuffer<Element> {
    public let capacity: Int
    private var storage: [Element?]
    private var head = 0
    public private(set) var count = 0
    /// Lines dropped since the last ``takeDropped()``.
    public private(set) var dropped = 0
    /// When the first of them was dropped.
    public private(set) var droppedSince: Date?

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = Array(repeating: nil, count: self.capacity)
    }

    public var isEmpty: Bool { count == 0 }

    /// Adds `element` at the end, dropping the oldest line when full.
    public mutating func append(_ element: Element, now: @autoclosure () -> Date = Date()) {
        if count == capacity {
            storage[head] = nil
            head = (head + 1) % capacity
            count -= 1
            if dropped == 0 { droppedSince = now() }
            dropped += 1
        }
        storage[(head + count) % capacity] = element
        count += 1
    }

    /// Removes and returns the oldest lines, at most `limit`.
    public mutating func take(_ limit: Int) -> [Element] {
        let taken = min(limit, count)
        var elements: [Element] = []
        elements.reserveCapacity(taken)
        for _ in 0..<taken {
            if let element = storage[head] { elements.append(element) }
            storage[head] = nil
            head = (head + 1) % capacity
        }
        count -= taken
        return elements
    }

    /// How many lines were dropped and since when, then zero again; nil when none were.
    public mutating func takeDropped() -> (count: Int, since: Date)? {
        guard dropped > 0, let since = droppedSince else { return nil }
        defer {
            dropped = 0
            droppedSince = nil
        }
        return (dropped, since)
    }
}
