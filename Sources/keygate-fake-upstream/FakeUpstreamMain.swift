import ArgumentParser
import Foundation
import KeygateFakeUpstream

/// The stand-alone fake provider (every wire format), for the SDK checks and the benchmark.
@main
struct FakeUpstreamMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate-fake-upstream",
        abstract: "Serve a fake OpenAI-compatible provider on 127.0.0.1.")
    @Option(help: "Port (0 picks a free one; the port is printed).") var port: Int = 0
    @Option(help: "Accept this key as Bearer token (repeat for several); without it any key is accepted.")
    var apiKey: [String] = []

    @Option(help: "Accept Bedrock requests signed with ACCESS_KEY_ID:SECRET (the signature is verified).")
    var awsKey: [String] = []

    @Option(
        help: """
            Also serve a fake Stripe API accepting this secret key (/v1/customers, /v1/checkout/sessions, /v1/payment_intents, …), \
            with control routes for scripts under /_fake/stripe/ (checkout/{cs}/complete, charges/{ch}/refund, charges/{ch}/dispute, \
            disputes/{du}/close, delay-next, GET events).
            """)
    var stripeSecret: String?

    func run() async throws {
        let fake = FakeProvider(expectedKey: apiKey.first)
        for key in apiKey.dropFirst() { fake.accept(key) }
        for pair in awsKey {
            let parts = pair.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--aws-key takes ACCESS_KEY_ID:SECRET") }
            fake.acceptAWS(accessKeyID: parts[0], secret: parts[1])
        }
        try await fake.run(port: port, stripe: stripeSecret.map { FakeStripe(secretKey: $0) }) { bound in
            FileHandle.standardOutput.write(Data("fake upstream listening on port \(bound)\n".utf8))
        }
    }
}
