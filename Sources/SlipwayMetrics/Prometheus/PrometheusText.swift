/// The Prometheus text exposition format (version 0.0.4) of a ``MetricsSnapshot``: every figure labelled by `app`
/// and `type`, as <https://prometheus.io/docs/instrumenting/exposition_formats/> describes it.
public enum PrometheusText {
    /// The `Content-Type` of the text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The histogram's upper bounds, in seconds (on edges of ``ServiceTimes``' buckets).
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// The page `/metrics` serves.
    public static func render(_ snapshot: MetricsSnapshot) -> String {
        let rows = snapshot.figures.sorted { $0.key < $1.key }.flatMap { app, types in
            types.sorted { $0.key < $1.key }.map { (app: app, type: $0.key, figures: $0.value) }
        }
        var out = ""
        func family(_ name: String, _ kind: String, _ help: String, _ body: (inout String) -> Void) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(kind)\n"
            body(&out)
        }
        func labels(_ row: (app: String, type: String, figures: MetricsSnapshot.Figures), _ extra: String = "")
            -> String
        {
            "{app=\"\(escaped(row.app))\",type=\"\(escaped(row.type))\"\(extra)}"
        }
        family("slipway_requests_total", "counter", "Requests the router finished, by response class.") { out in
            for row in rows {
                for (group, count) in row.figures.total.responses.sorted(by: { $0.key < $1.key }) {
                    out += "slipway_requests_total\(labels(row, ",class=\"\(escaped(group))\"")) \(count)\n"
                }
            }
        }
        family("slipway_router_errors_total", "counter", "Router errors (H12, H13, H14...), by code.") { out in
            for row in rows {
                for (code, count) in row.figures.total.errors.sorted(by: { $0.key < $1.key }) {
                    out += "slipway_router_errors_total\(labels(row, ",code=\"\(escaped(code))\"")) \(count)\n"
                }
            }
        }
        family("slipway_service_time_seconds", "histogram", "Time the dynos took to answer.") { out in
            for row in rows where row.figures.total.requests > 0 {
                let service = row.figures.total.service
                for bound in bounds {
                    let count = service.count(atMost: bound * 1000)
                    out += "slipway_service_time_seconds_bucket\(labels(row, ",le=\"\(number(bound))\"")) \(count)\n"
                }
                out += "slipway_service_time_seconds_bucket\(labels(row, ",le=\"+Inf\"")) \(service.count)\n"
                out += "slipway_service_time_seconds_sum\(labels(row)) \(number(service.sumMilliseconds / 1000))\n"
                out += "slipway_service_time_seconds_count\(labels(row)) \(service.count)\n"
            }
        }
        family(
            "slipway_service_time_last_minute_seconds", "gauge",
            "Percentiles of the service time over the last whole minute."
        ) { out in
            for row in rows {
                for quantile in [0.5, 0.95, 0.99] {
                    guard let value = row.figures.lastMinute.service.percentile(quantile) else { continue }
                    out +=
                        "slipway_service_time_last_minute_seconds"
                        + "\(labels(row, ",quantile=\"\(number(quantile))\"")) \(number(value / 1000))\n"
                }
            }
        }
        family("slipway_memory_bytes", "gauge", "The dynos' memory over the last whole minute, max and mean.") { out in
            for row in rows {
                let memory = row.figures.lastMinute.memory
                guard let mean = memory.meanBytes else { continue }
                out += "slipway_memory_bytes\(labels(row, ",stat=\"max\"")) \(memory.maxBytes)\n"
                out += "slipway_memory_bytes\(labels(row, ",stat=\"mean\"")) \(mean)\n"
            }
        }
        family("slipway_memory_errors_total", "counter", "Memory errors of the dynos: R14 and R15.") { out in
            for row in rows where row.figures.total.memory.samples > 0 {
                out += "slipway_memory_errors_total\(labels(row, ",code=\"R14\"")) \(row.figures.total.memory.r14)\n"
                out += "slipway_memory_errors_total\(labels(row, ",code=\"R15\"")) \(row.figures.total.memory.r15)\n"
            }
        }
        return out
    }

    /// A label value with `\`, `"` and line feeds escaped.
    static func escaped(_ value: String) -> String {
        var text = ""
        for character in value {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.append(character)
            }
        }
        return text
    }

    /// A number as Prometheus reads it, without a needless `.0`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
