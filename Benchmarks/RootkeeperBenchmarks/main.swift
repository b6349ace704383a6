// rootkeeper-bench: dispatches on the first argument to one benchmark (DESIGN §7).
// Usage: swift run -c release rootkeeper-bench <benchmark> [options]
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: rootkeeper-bench <benchmark> [options]
      issuance [--seconds N] [--rsa]                        agent issuance (CSR → policy → lint → sign) vs raw signing
      crl [--entries 100000,1000000] [--keys p256,rsa2048] [--no-peer]
                                                            full CRL build+sign vs openssl ca -gencrl
      ocsp [--seconds N] [--keys p256,rsa2048] [--no-peer]  OCSP response encoding+signing vs raw signing
      ocsp-service [options]                                the appliance's OCSP responder vs `openssl ocsp -port`
    """

do {
    let rest = Array(arguments.dropFirst())
    switch arguments.first {
    case "issuance": try await IssuanceBenchmark(arguments: rest).run()
    case "crl": try await CRLBenchmark.run(arguments: rest)
    case "ocsp": try await OCSPBenchmark.run(arguments: rest)
    case "ocsp-service": try await OCSPServiceBenchmark.run(arguments: rest)
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("\(arguments.first ?? "") benchmark failed: \(error)\n".utf8))
    exit(1)
}
