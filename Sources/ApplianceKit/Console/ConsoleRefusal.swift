import Hummingbird

/// A refusal the console shows as an error page with this status and message.
struct ConsoleRefusal: Error {
    var status: HTTPResponse.Status
    var message: String
}
