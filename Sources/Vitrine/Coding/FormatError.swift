// Why a key or record could not be decoded. Decoders never trap: every malformed input ends here.

/// A malformed key or record: what is wrong and where (byte offset or field number).
public enum FormatError: Error, Hashable, Sendable {
    /// The bytes end in the middle of something that starts at `offset`.
    case truncated(offset: Int)
    /// A varint at `offset` is longer than 10 bytes, overflows 64 bits, or is not minimal.
    case badVarint(offset: Int)
    /// A field key at `offset` uses a wire type other than 0 (varint) or 2 (length-delimited).
    case unknownWireType(UInt8, offset: Int)
    /// A field number at `offset` is 0 or above 2^29-1.
    case badFieldNumber(offset: Int)
    /// Field numbers must not decrease; field `field` at `offset` came after a larger one.
    case fieldOutOfOrder(field: Int, offset: Int)
    /// Field `field` was encoded with a wire type its record does not expect.
    case wrongWireType(field: Int)
    /// Field `field` appears more than once but is not a repeated field.
    case duplicateField(field: Int)
    /// A required field is missing.
    case missingField(field: Int)
    /// Field `field` holds bytes that are not valid UTF-8.
    case invalidUTF8(field: Int)
    /// Field `field` holds a value outside its domain (say, an unknown enum case).
    case invalidValue(field: Int, reason: String)
    /// The record header names another record kind.
    case wrongRecordKind(expected: UInt8, found: UInt8)
    /// The record header names an encoding version this code does not read.
    case unsupportedVersion(UInt8)
    /// A tuple element at `offset` starts with a type code this encoding does not use.
    case badTupleCode(UInt8, offset: Int)
    /// A tuple or cursor did not have the expected shape.
    case unexpectedShape(String)
}
