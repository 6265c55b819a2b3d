import Foundation

/// The wall clock, in what every stored time is: Unix epoch milliseconds. (Not named `Clock`: that would
/// shadow the standard library's `Clock` protocol.)
public enum WallClock {
    public static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
