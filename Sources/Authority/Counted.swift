/// "1 certificate", "2 certificates": a count with its noun in the right number, for messages
/// (docs/conventions.md: messages for people).
public func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
