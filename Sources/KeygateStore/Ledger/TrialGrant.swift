import KeygateCore

/// The trial credits an organisation is created with (the trial policy's), and when they expire.
public struct TrialGrant: Sendable, Equatable {
    public var credits: MicroCredits
    /// Milliseconds since 1970.
    public var expiresAt: Int64

    public init(credits: MicroCredits, expiresAt: Int64) {
        self.credits = credits
        self.expiresAt = expiresAt
    }
}
