import Foundation

/// Server-rendered SVG bar charts for the console (no script, no inline style: presentation
/// attributes only, so the strict Content-Security-Policy holds). Every text in a chart is made
/// here from numbers and dates, never from outside input, and is escaped all the same.
enum ConsoleCharts {
    struct Series {
        var label: String
        var cssClass: String
        var values: [Int]
    }

    /// Grouped bars: one group per label, one bar per series.
    static func bars(title: String, labels: [String], series: [Series], labelEvery: Int = 1, links: [String]? = nil) -> String {
        let width = 960.0
        let height = 240.0
        let left = 40.0
        let bottom = 40.0
        let top = 20.0
        let maximum = max(1, series.flatMap(\.values).max() ?? 1)
        let groupWidth = (width - left) / Double(max(labels.count, 1))
        let barWidth = max(1, (groupWidth - 2) / Double(max(series.count, 1)))
        let plot = height - bottom - top
        var svg = """
            <svg class="chart" role="img" aria-labelledby="chart-\(escape(slug(title)))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            width="100%" xmlns="http://www.w3.org/2000/svg"><title id="chart-\(escape(slug(title)))">\(escape(title))</title>
            """
        for tick in [0, maximum / 2, maximum] {
            let y = top + plot - plot * Double(tick) / Double(maximum)
            svg += "<line class=\"grid\" x1=\"\(Int(left))\" x2=\"\(Int(width))\" y1=\"\(fmt(y))\" y2=\"\(fmt(y))\"/>"
            svg += "<text class=\"axis\" x=\"\(Int(left - 4))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(tick)</text>"
        }
        for (index, label) in labels.enumerated() {
            let x0 = left + Double(index) * groupWidth + 1
            var group = ""
            for (seriesIndex, one) in series.enumerated() {
                let value = index < one.values.count ? one.values[index] : 0
                let barHeight = plot * Double(value) / Double(maximum)
                group += "<rect class=\"\(one.cssClass)\" x=\"\(fmt(x0 + Double(seriesIndex) * barWidth))\" y=\"\(fmt(top + plot - barHeight))\" "
                group +=
                    "width=\"\(fmt(barWidth))\" height=\"\(fmt(barHeight))\"><title>\(escape(label)): \(value) \(escape(one.label))</title></rect>"
            }
            if let links, index < links.count {
                svg += "<a href=\"\(escape(links[index]))\">\(group)</a>"
            } else {
                svg += group
            }
            if index % labelEvery == 0 {
                svg +=
                    "<text class=\"axis\" x=\"\(fmt(x0 + groupWidth / 2))\" y=\"\(Int(height - bottom + 16))\" text-anchor=\"middle\">\(escape(label))</text>"
            }
        }
        var legendX = left
        for one in series {
            svg += "<rect class=\"\(one.cssClass)\" x=\"\(fmt(legendX))\" y=\"\(Int(height - 14))\" width=\"10\" height=\"10\"/>"
            svg += "<text class=\"axis\" x=\"\(fmt(legendX + 14))\" y=\"\(Int(height - 5))\">\(escape(one.label))</text>"
            legendX += 140
        }
        return svg + "</svg>"
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
    static func slug(_ text: String) -> String { String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }) }
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
