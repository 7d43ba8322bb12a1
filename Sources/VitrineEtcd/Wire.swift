// etcd v3's JSON gateway messages, as this backend writes and reads them (etcd 3.4,
// etcdserverpb/rpc.proto through grpc-gateway):
//
//   RangeRequest   {"key": b64, "range_end": b64, "limit": "N", "revision": "R",
//                   "sort_order": "DESCEND", "sort_target": "KEY"}
//   RangeResponse  {"header": {"revision": "R", ...}, "kvs": [KeyValue], "more": bool, "count": "N"}
//   KeyValue       {"key": b64, "value": b64, "create_revision": "N", "mod_revision": "N", "version": "N"}
//   TxnRequest     {"compare": [Compare], "success": [{"request_put": {"key", "value"}} |
//                                                     {"request_delete_range": {"key", "range_end"}}]}
//   Compare        {"target": "MOD", "result": "EQUAL" | "LESS", "key": b64, "range_end": b64,
//                   "mod_revision": "N"}
//   TxnResponse    {"header": {"revision": "R"}, "succeeded": bool}
//
// Bytes are base64; 64-bit integers are JSON strings (numbers are accepted too). Fields at their
// default value are left out of answers: no "value" is an empty value, no "kvs" no pairs, no
// "succeeded" false. Everything read here is checked: a missing or mistyped field is an
// `EtcdError.malformedResponse`, never a trap.

import Foundation

enum Wire {
    static func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func int(_ any: Any?) -> Int? { int64(any).flatMap { Int(exactly: $0) } }

    /// A 64-bit integer field: a decimal string, or a JSON number that is an exact integer.
    static func int64(_ any: Any?) -> Int64? {
        if let s = any as? String { return Int64(s) }
        if let n = any as? NSNumber {
            let d = n.doubleValue
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            return n.int64Value
        }
        return nil
    }

    static func bytes(_ any: Any?) -> [UInt8]? {
        guard let s = any as? String, let d = Data(base64Encoded: s) else { return nil }
        return [UInt8](d)
    }

    static func json(_ object: [String: Any]) throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object)
        } catch {
            throw EtcdError.invalidConfiguration("request does not encode as JSON: \(error)")
        }
    }

    /// One pair of a range answer.
    struct Pair {
        var key: [UInt8]
        var value: [UInt8]
        var modRevision: Int64
    }

    /// The header's revision of an answer.
    static func revision(_ object: [String: Any], endpoint: String) throws -> Int64 {
        guard let header = object["header"] as? [String: Any], let r = int64(header["revision"]), r >= 0 else {
            throw EtcdError.malformedResponse(endpoint: endpoint, reason: "no header revision")
        }
        return r
    }

    static func pairs(_ object: [String: Any], endpoint: String) throws -> (pairs: [Pair], more: Bool) {
        var out: [Pair] = []
        if let kvs = object["kvs"] {
            guard let list = kvs as? [Any] else { throw EtcdError.malformedResponse(endpoint: endpoint, reason: "kvs is not a list") }
            out.reserveCapacity(list.count)
            for item in list {
                guard let kv = item as? [String: Any], let key = bytes(kv["key"]) else {
                    throw EtcdError.malformedResponse(endpoint: endpoint, reason: "a pair without a key")
                }
                let value: [UInt8]
                if let v = kv["value"] {
                    guard let decoded = bytes(v) else {
                        throw EtcdError.malformedResponse(endpoint: endpoint, reason: "value is not base64")
                    }
                    value = decoded
                } else {
                    value = []
                }
                guard let mod = int64(kv["mod_revision"]), mod >= 1 else {
                    throw EtcdError.malformedResponse(endpoint: endpoint, reason: "a pair without mod_revision")
                }
                out.append(Pair(key: key, value: value, modRevision: mod))
            }
        }
        let more = (object["more"] as? Bool) ?? false
        return (out, more)
    }
}
