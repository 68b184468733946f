import Foundation

/// Columns padded to their widest cell (the last one is not padded), two spaces apart.
public func alignedRows(_ rows: [[String]]) -> [String] {
    guard let count = rows.map(\.count).max() else { return [] }
    var widths = [Int](repeating: 0, count: count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
        var line = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }
}

/// `4.2s`, `2m05s`.
public func formatSeconds(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let whole = Int(seconds)
    return String(format: "%dm%02ds", whole / 60, whole % 60)
}
