import Foundation

extension ArraySlice<UInt8> {
    /// Whether both hold the same bytes, with one `memcmp`: `==` on byte slices compares element
    /// by element, thousands of instructions for a certificate (BENCHMARKS.md, issue #17).
    func hasSameBytes(as other: ArraySlice<UInt8>) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { left in
            other.withUnsafeBytes { right in
                left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
    }
}
