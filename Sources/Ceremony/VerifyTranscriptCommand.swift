import ArgumentParser
import CeremonyKit
import Foundation

struct VerifyTranscriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-transcript",
        abstract: "Replay the transcript offline and check every hash; report the first broken entry.",
        discussion: """
            Needs no token: run it on any machine with a copy of the media.
            Example:
              ceremony verify-transcript /media/ROOTKEEPER
            Compare the printed head hash with the one the witnesses wrote down.
            """
    )

    @Argument(help: "The media directory (or the transcript.jsonl file itself).")
    var path: String

    func run() throws {
        var isDirectory: ObjCBool = false
        let file =
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (path as NSString).appendingPathComponent("transcript.jsonl") : path
        guard FileManager.default.fileExists(atPath: file) else {
            throw reportFailure(
                CeremonyError.transcript(
                    "no transcript at \(file): give the media directory (which holds transcript.jsonl) or the transcript file itself"))
        }
        do {
            let state = try Transcript.verify(path: file)
            for entry in state.entries {
                print("\(entry.seq)\t\(entry.time)\t\(entry.actor.role): \(entry.actor.name)\t\(entry.event)")
            }
            let head = Transcript.announce(head: state.head)
            print("transcript OK: \(state.count) entries")
            print("head: \(head.hex)")
            print("words: \(head.words)")
        } catch {
            throw reportFailure(error)
        }
    }
}
