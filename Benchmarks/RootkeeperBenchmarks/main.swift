// rootkeeper-bench: dispatches on the first argument to one benchmark (docs/performance.md).
// Usage: swift run -c release rootkeeper-bench <benchmark> [options]
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: rootkeeper-bench <benchmark> [options]
      issuance [--seconds N] [--rsa] [--breakdown]          agent issuance (CSR → policy → lint → sign) vs raw signing;
                                                            --breakdown: each step timed alone, and the cap the mandated crypto sets
      crl [--entries 100000,1000000] [--keys p256,rsa2048] [--no-peer]
                                                            full CRL build+sign vs openssl ca -gencrl
      ocsp [--seconds N] [--keys p256,rsa2048] [--no-peer]  OCSP response encoding+signing vs raw signing
      ocsp-service [options]                                the appliance's OCSP responder vs `openssl ocsp -port`
      store-walk [--entries 100000,1000000] [--per-serial-max N]
                                                            the CRL's store walk + expiry pruning: batched vs one query per entry
      est-prepare --state DIR --count N --out FILE          N enrolment tokens (admin socket) + N agent CSRs for est.lua
      revocation-latency --state DIR --http-port P --serial HEX --request FILE
                                                            revoke via the admin socket → revoked in OCSP / listed in the CRL
    (scripts/bench/network.sh drives the last two against a release `appliance serve`, with nginx, wrk and openssl)
    """

do {
    let rest = Array(arguments.dropFirst())
    switch arguments.first {
    case "issuance": try await IssuanceBenchmark(arguments: rest).run()
    case "crl": try await CRLBenchmark.run(arguments: rest)
    case "ocsp": try await OCSPBenchmark.run(arguments: rest)
    case "ocsp-service": try await OCSPServiceBenchmark.run(arguments: rest)
    case "store-walk": try await StoreWalkBenchmark.run(arguments: rest)
    case "est-prepare": try ESTPrepare.run(arguments: rest)
    case "revocation-latency": try RevocationLatencyBenchmark.run(arguments: rest)
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("\(arguments.first ?? "") benchmark failed: \(error)\n".utf8))
    exit(1)
}
