// One HTTP/1.1 POST over a fresh TCP connection, on POSIX sockets, with a deadline.
//
// Why not URLSession: on Linux, FoundationNetworking traps ("Transfer completed, but there's no
// response") when a server closes a connection without answering, which is exactly what a
// member killed mid-request does; a failover test crashed on it. A trap reachable from the
// network is a bug here, so this small client does the one thing the backend needs, and knows
// exactly how far a request got:
//   notSent  the connection was never established, or not a byte was written: the member never
//            saw the request.
//   lost     something was written and no complete answer came back (timeout, reset, EOF):
//            the member may have acted on it.
//   answer   status code and body (Content-Length, chunked, or up to EOF).
// `Connection: close` on every request: no pooled connection that the server may have closed in
// the meantime, so a failure is never mistaken for one. Responses are untrusted: sizes are
// bounded, every length and chunk header is checked.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemConnect = Glibc.connect
#else
private let systemConnect = Darwin.connect
#endif

enum HTTPOutcome {
    case answer(status: Int, body: Data)
    case notSent(String)
    case lost(String)
}

enum HTTPPost {
    /// The largest answer accepted (etcd's own request limit is 1.5 MiB; a range of many values
    /// can be larger, so room is left).
    static let maxResponseBytes = 256 << 20

    static func post(host: String, port: Int, path: String, body: Data, deadline: Date) -> HTTPOutcome {
        guard let fd = connect(host: host, port: port, deadline: deadline) else {
            return .notSent("cannot connect to \(host):\(port) (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var request = Data("POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n".utf8)
        request.append(Data("Content-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8))
        request.append(body)
        var written = 0
        while written < request.count {
            guard wait(fd, Int16(POLLOUT), deadline) else {
                return written == 0 ? .notSent("timed out before sending") : .lost("timed out while sending")
            }
            let n = request.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(fd, base + written, buffer.count - written, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                let reason = String(cString: strerror(errno))
                return written == 0 ? .notSent("send: \(reason)") : .lost("send: \(reason)")
            }
            written += n
        }
        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let parsed = parse(response, complete: false) { return parsed }
            guard wait(fd, Int16(POLLIN), deadline) else { return .lost("no answer before the timeout") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .lost("recv: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                return parse(response, complete: true) ?? .lost("connection closed before a complete answer")
            }
            response.append(contentsOf: chunk[0..<n])
            if response.count > maxResponseBytes { return .lost("answer larger than \(maxResponseBytes) bytes") }
        }
    }

    /// A connected non-blocking socket, or nil (errno says why).
    private static func connect(host: String, port: Int, deadline: Date) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            errno = EHOSTUNREACH
            return nil
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var lastErrno = ECONNREFUSED
        while let e = entry {
            entry = e.pointee.ai_next
            let fd = socket(e.pointee.ai_family, e.pointee.ai_socktype, e.pointee.ai_protocol)
            if fd < 0 { lastErrno = errno; continue }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if systemConnect(fd, e.pointee.ai_addr, e.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS, wait(fd, Int16(POLLOUT), deadline) {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 { return fd }
                lastErrno = error == 0 ? errno : error
            } else {
                lastErrno = errno == EINPROGRESS ? ETIMEDOUT : errno
            }
            close(fd)
        }
        errno = lastErrno
        return nil
    }

    /// Waits until `fd` is ready for `events` or the deadline passes (false).
    private static func wait(_ fd: Int32, _ events: Int16, _ deadline: Date) -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(remaining * 1000 + 1, 60_000)))
            if r > 0 { return true }
            if r < 0 && errno != EINTR { return true }  // the following call reports the error
        }
    }

    /// A complete answer in `bytes`, or nil while more is needed (or, when `complete`, an
    /// answer read to EOF; a malformed head is `lost`).
    static func parse(_ bytes: Data, complete: Bool) -> HTTPOutcome? {
        let data = [UInt8](bytes)
        guard let headEnd = find(data, [13, 10, 13, 10], from: 0) else {
            return complete ? .lost("connection closed inside the answer's head") : nil
        }
        let head = String(decoding: data[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            return .lost("not an HTTP answer: \(statusLine.prefix(60))")
        }
        var contentLength: Int? = nil
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let n = Int(value), n >= 0, n <= maxResponseBytes else { return .lost("bad Content-Length '\(value)'") }
                contentLength = n
            } else if name == "transfer-encoding", value.lowercased().contains("chunked") {
                chunked = true
            }
        }
        let bodyStart = headEnd + 4
        if chunked {
            var position = bodyStart
            var body = [UInt8]()
            while true {
                guard let lineEnd = find(data, [13, 10], from: position) else { return complete ? .lost("truncated chunk") : nil }
                let sizeText = String(decoding: data[position..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0, size <= maxResponseBytes else {
                    return .lost("bad chunk size")
                }
                let start = lineEnd + 2
                if size == 0 { return .answer(status: status, body: Data(body)) }
                guard data.count >= start + size + 2 else { return complete ? .lost("truncated chunk") : nil }
                body.append(contentsOf: data[start..<(start + size)])
                position = start + size + 2
            }
        }
        if let contentLength {
            guard data.count >= bodyStart + contentLength else {
                return complete ? .lost("connection closed inside the answer's body") : nil
            }
            return .answer(status: status, body: Data(data[bodyStart..<(bodyStart + contentLength)]))
        }
        return complete ? .answer(status: status, body: Data(data[bodyStart...])) : nil
    }

    private static func find(_ data: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard data.count >= needle.count, start <= data.count - needle.count else { return nil }
        var i = start
        while i <= data.count - needle.count {
            if data[i] == needle[0] && Array(data[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
