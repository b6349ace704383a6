/// Valid LDH host names of an exact length, for tests of the name bounds (docs/identity.md).
public enum TestHostname {
    /// A host name of exactly `length` characters: labels of at most 63 letters (alternating
    /// `h`/`k` so no two labels are equal), never an empty label, never an all-numeric last label.
    public static func ldh(length: Int) -> String {
        var labels: [String] = []
        var remaining = length
        while remaining > 0 {
            // 64 left would make a 63-character label and an empty one: take 62 and leave 1.
            let size = min(63, remaining == 64 ? 62 : remaining)
            labels.append(String(repeating: labels.count.isMultiple(of: 2) ? "h" : "k", count: size))
            remaining -= size + 1
        }
        let name = labels.joined(separator: ".")
        precondition(name.utf8.count == length, "built \(name.utf8.count) characters for \(length)")
        return name
    }
}
