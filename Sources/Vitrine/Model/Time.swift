// Time as integer milliseconds since the Unix epoch, and the injectable clock.

import Foundation

/// A point in time: milliseconds since 1970-01-01T00:00:00Z (UTC).
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    /// The time `millisecondsSinceEpoch` ms after the epoch.
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// The timestamp of a `Date`, truncated to the millisecond (clamped to the Int64 range).
    public init(_ date: Date) {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        if ms >= 9.2e18 {
            millisecondsSinceEpoch = .max
        } else if ms <= -9.2e18 {
            millisecondsSinceEpoch = .min
        } else {
            millisecondsSinceEpoch = Int64(ms)
        }
    }

    /// The time as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }

    /// This time plus `milliseconds`, saturating at the ends of the Int64 range.
    public func adding(milliseconds: Int64) -> Timestamp {
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(milliseconds)
        if overflow { return Timestamp(millisecondsSinceEpoch: milliseconds > 0 ? .max : .min) }
        return Timestamp(millisecondsSinceEpoch: sum)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    public init(from decoder: Decoder) throws {
        millisecondsSinceEpoch = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(millisecondsSinceEpoch)
    }

    public var description: String { "\(millisecondsSinceEpoch)ms" }
}

/// Where a store gets the current time. Inject a ``ManualClock`` to control time in tests.
public struct VitrineClock: Sendable {
    /// Reads the current time.
    public let now: @Sendable () -> Timestamp

    /// A clock that reads the time with `now`.
    public init(now: @escaping @Sendable () -> Timestamp) { self.now = now }

    /// The system clock.
    public static let system = VitrineClock { Timestamp(Date()) }

    /// A clock that reads `manual`.
    public static func manual(_ manual: ManualClock) -> VitrineClock { VitrineClock { manual.now } }
}

/// A clock that moves only when told to. Safe to share between threads.
public final class ManualClock: Sendable {
    private let current: Locked<Timestamp>

    /// A clock standing at `start` until it is moved.
    public init(_ start: Timestamp = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)) {
        current = Locked(start)
    }

    /// The time the clock stands at.
    public var now: Timestamp { current.withLock { $0 } }

    /// Moves the clock forward by `milliseconds`.
    public func advance(milliseconds: Int64) {
        current.withLock { $0 = $0.adding(milliseconds: milliseconds) }
    }

    /// Moves the clock forward by `duration` (whole milliseconds).
    public func advance(by duration: Duration) {
        advance(milliseconds: duration.wholeMilliseconds)
    }

    /// Sets the clock.
    public func set(_ time: Timestamp) { current.withLock { $0 = time } }
}

extension Duration {
    /// The whole milliseconds in this duration, saturating at the ends of the Int64 range.
    var wholeMilliseconds: Int64 {
        let (s, a) = components
        let (ms, overflow) = s.multipliedReportingOverflow(by: 1000)
        if overflow { return s > 0 ? .max : .min }
        return ms.addingReportingOverflow(a / 1_000_000_000_000_000).partialValue
    }
}
