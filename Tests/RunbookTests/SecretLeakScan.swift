import Foundation

/// Searches printed output and every regular file under some directories for secret strings
/// (PINs, passphrases, enrolment tokens), byte for byte — binary files such as the SQLite
/// database included.
enum SecretLeakScan {
    /// One line per leak: which secret, where.
    static func leaks(of secrets: [String: String], inOutputs outputs: [String: String], filesUnder roots: [String]) -> [String] {
        let needles = secrets.filter { !$0.value.isEmpty }.map { ($0.key, Data($0.value.utf8)) }
        var found: [String] = []
        for (name, text) in outputs {
            let haystack = Data(text.utf8)
            for (secret, needle) in needles where haystack.range(of: needle) != nil { found.append("\(secret) in \(name)") }
        }
        for root in roots {
            for file in scannedFiles(under: root) {
                guard let haystack = FileManager.default.contents(atPath: file) else { continue }
                for (secret, needle) in needles where haystack.range(of: needle) != nil { found.append("\(secret) in \(file)") }
            }
        }
        return found.sorted()
    }

    /// Every regular file under `root` (recursively).
    static func scannedFiles(under root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            let path = (root as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
            {
                files.append(path)
            }
        }
        return files
    }
}
