// EarningEntry record: one line of an expert's earnings ledger, and the calendar it is summed by.
//
// Record kind 16. Fields: 1 expert (text), 2 order (text), 3 amountFen (sint: positive when an
// order's commission is earned, at payment; negative for a clawback, when units of a paid or
// settled order are cancelled or returned), 4 at (sint, ms), 5 reason (varint: 1 paid,
// 2 cancelled, 3 returned).
// Stored under ("earn_entry", expert, at, entryID); summed per day and per month into the
// counters ("earn_day", expert, yyyymmdd) and ("earn_month", expert, yyyymm), in China Standard
// Time (UTC+8, no daylight saving: the market the store serves), with the same add as every
// counter. Invariant (checked): each expert's day counters are the sums of their entries per day,
// the month counters per month; for every order placed through the purchase flow, the entries of
// an expert sum to that expert's Earning while the order is paid or settled, and to 0 otherwise.

/// Why an earnings ledger entry was written.
public enum EarningReason: UInt8, Hashable, Sendable, Codable {
    /// The order was paid: its commission is earned (pending until settled).
    case paid = 1
    /// Units of a paid order were cancelled: commission clawed back.
    case cancelled = 2
    /// Units were returned (before or after settlement): commission clawed back.
    case returned = 3
}

/// One entry of an expert's earnings ledger.
public struct EarningEntry: Hashable, Sendable, Codable {
    /// The expert whose ledger the entry is in.
    public var expert: ExpertID
    /// The order the commission is on.
    public var order: OrderID
    /// Positive when earned, negative for a clawback.
    public var amountFen: Int64
    /// When it was written (the day and month it is summed into, in UTC+8).
    public var at: Timestamp
    /// Why: paid, cancelled or returned.
    public var reason: EarningReason

    /// A ledger entry.
    public init(expert: ExpertID, order: OrderID, amountFen: Int64, at: Timestamp, reason: EarningReason) {
        self.expert = expert
        self.order = order
        self.amountFen = amountFen
        self.at = at
        self.reason = reason
    }
}

extension EarningEntry: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .earningEntry)
        w.writeString(1, expert.rawValue)
        w.writeString(2, order.rawValue)
        w.writeInt(3, amountFen)
        w.writeInt(4, at.millisecondsSinceEpoch)
        w.writeUInt(5, UInt64(reason.rawValue))
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .earningEntry)
        expert = ExpertID(try f.string(1))
        order = OrderID(try f.string(2))
        amountFen = try f.int(3)
        at = Timestamp(millisecondsSinceEpoch: try f.int(4))
        reason = try f.uint8(5, as: EarningReason.self)
    }
}

/// A day of the earnings calendar, in China Standard Time (UTC+8).
public struct EarningsDay: Hashable, Sendable, Comparable, Codable {
    /// The year (e.g. 2015).
    public var year: Int64
    /// The month, 1...12.
    public var month: Int64
    /// The day of the month, 1...31.
    public var day: Int64

    /// A calendar day (not checked here; the earnings queries refuse an invalid one).
    public init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day `t` falls on in UTC+8.
    public init(_ t: Timestamp) {
        let shifted = t.millisecondsSinceEpoch.addingReportingOverflow(8 * 3_600_000)
        let ms = shifted.overflow ? t.millisecondsSinceEpoch : shifted.partialValue
        var days = ms / 86_400_000
        if ms % 86_400_000 < 0 { days -= 1 }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// yyyymmdd, the day counter's key.
    public var number: Int64 { year &* 10_000 &+ month &* 100 &+ day }
    /// yyyymm, the month counter's key.
    public var monthNumber: Int64 { year &* 100 &+ month }

    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}
