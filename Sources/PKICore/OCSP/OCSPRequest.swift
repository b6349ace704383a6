import Foundation

/// A decoded OCSP request (RFC 6960 §4.1.1), POST body or GET path.
///
/// ```
/// OCSPRequest     ::=     SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
///
/// TBSRequest      ::=     SEQUENCE {
///     version             [0]     EXPLICIT Version DEFAULT v1,
///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
///     requestList                 SEQUENCE OF Request,
///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
///
/// Request         ::=     SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
/// ```
///
/// Errors (all should be answered with `malformedRequest`, RFC 6960 §2.3):
/// - `malformedInput`: empty body, truncated or non-DER input, wrong structure, a request with no
///   CertID, a bad nonce;
/// - `invalidParameter`: more than ``maximumCertIDs`` CertIDs;
/// - `unsupportedAlgorithm`: a CertID hash other than SHA-1 or SHA-256.
///
/// A request signature, if present, is not verified: Rootkeeper does not require signed
/// requests (RFC 6960 §4.1.2 leaves it to local policy) and answers only public status.
public struct OCSPRequest: Hashable, Sendable {
    /// The largest number of CertIDs accepted in one request. Real clients ask for one; the bound
    /// keeps a single request from costing unbounded signing work.
    public static let maximumCertIDs = 64

    /// The certificates asked about, in request order.
    public let certIDs: [OCSPCertID]
    /// The nonce, if the request carried id-pkix-ocsp-nonce (RFC 6960 §4.4.1).
    public let nonce: OCSPNonce?

    public init(certIDs: [OCSPCertID], nonce: OCSPNonce? = nil) {
        self.certIDs = certIDs
        self.nonce = nonce
    }

    /// Decodes a DER request (the body of a POST with `application/ocsp-request`).
    public init(derEncoded bytes: some Collection<UInt8>) throws {
        let bytes = Array(bytes)
        guard !bytes.isEmpty else { throw PKIError.malformed("empty OCSP request") }
        var top = CompactDERReader(bytes[...])
        let request = try top.read(tag: DERTag.sequence, "OCSPRequest")
        try top.requireEnd("OCSPRequest")
        var outer = CompactDERReader(request.content)
        let tbs = try outer.read(tag: DERTag.sequence, "TBSRequest")
        _ = try outer.readIfPresent(tag: DERTag.contextConstructed(0), "optionalSignature")
        try outer.requireEnd("OCSPRequest")

        var reader = CompactDERReader(tbs.content)
        if let version = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "TBSRequest.version") {
            var inner = CompactDERReader(version.content)
            let value = try inner.read(tag: DERTag.integer, "TBSRequest.version")
            guard value.content.elementsEqual([0]) else { throw PKIError.malformed("unsupported OCSP request version") }
        }
        _ = try reader.readIfPresent(tag: DERTag.contextConstructed(1), "TBSRequest.requestorName")
        let list = try reader.read(tag: DERTag.sequence, "TBSRequest.requestList")
        var nonce: OCSPNonce?
        if let extensions = try reader.readIfPresent(tag: DERTag.contextConstructed(2), "TBSRequest.requestExtensions") {
            nonce = try Self.nonce(in: extensions)
        }
        try reader.requireEnd("TBSRequest")

        var certIDs: [OCSPCertID] = []
        var listReader = CompactDERReader(list.content)
        while !listReader.isAtEnd {
            guard certIDs.count < Self.maximumCertIDs else {
                throw PKIError.invalidParameter("OCSP request has more than \(Self.maximumCertIDs) CertIDs")
            }
            let single = try listReader.read(tag: DERTag.sequence, "Request")
            var singleReader = CompactDERReader(single.content)
            certIDs.append(try OCSPCertID(decoding: singleReader.read("Request.reqCert")))
            _ = try singleReader.readIfPresent(tag: DERTag.contextConstructed(0), "singleRequestExtensions")
            try singleReader.requireEnd("Request")
        }
        guard !certIDs.isEmpty else { throw PKIError.malformed("OCSP request has no CertID") }
        self.init(certIDs: certIDs, nonce: nonce)
    }

    /// Decodes the path segment of a GET request (RFC 6960 Appendix A.1: the base64 of the DER,
    /// URL-encoded). Accepts percent-encoding (`%2B`, `%2F`, `%3D`), plain base64 and base64url,
    /// with or without padding.
    public init(getPathSegment segment: some StringProtocol) throws {
        guard let decoded = String(segment).removingPercentEncoding else {
            throw PKIError.malformed("OCSP GET path: invalid percent-encoding")
        }
        var base64 = decoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        if base64.count % 4 != 0 { base64 += String(repeating: "=", count: 4 - base64.count % 4) }
        guard !base64.isEmpty, let data = Data(base64Encoded: base64) else {
            throw PKIError.malformed("OCSP GET path is not base64")
        }
        try self.init(derEncoded: data)
    }

    private static func nonce(in extensions: CompactDERReader.Element) throws -> OCSPNonce? {
        var wrapper = CompactDERReader(extensions.content)
        let sequence = try wrapper.read(tag: DERTag.sequence, "requestExtensions")
        try wrapper.requireEnd("requestExtensions")
        var reader = CompactDERReader(sequence.content)
        var nonce: OCSPNonce?
        while !reader.isAtEnd {
            let ext = try DERExtension(reader.read(tag: DERTag.sequence, "request extension"))
            guard ext.oid.elementsEqual(OCSPNonce.oid) else { continue }
            guard nonce == nil else { throw PKIError.malformed("OCSP request has two nonce extensions") }
            do { nonce = try OCSPNonce(extensionValue: ext.value) } catch let error as PKIError {
                throw PKIError.malformed(error.reason)
            }
        }
        return nonce
    }
}
