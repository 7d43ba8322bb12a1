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
// Connections: a commit always goes on a fresh connection with `Connection: close`, so that a
// failure is never a pooled connection the server closed while it was idle (which would blur
// "not sent" and "lost"). Reads, which may always be sent again, reuse idle keep-alive
// connections from a `ConnectionPool`; a pooled connection that fails is dropped and the read
// goes again on a fresh one. Responses are untrusted: sizes are bounded, every length and chunk
// header is checked.

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

    /// POSTs `body`; with a `pool`, on a kept-alive connection (reads only).
    static func post(host: String, port: Int, path: String, body: Data, deadline: Date, pool: ConnectionPool? = nil) -> HTTPOutcome {
        let endpoint = "\(host):\(port)"
        if let pool, let fd = pool.take(endpoint) {
            let (outcome, reusable) = exchange(fd, host: host, port: port, path: path, body: body, deadline: deadline, keepAlive: true)
            if case .answer = outcome {
                if reusable { pool.put(endpoint, fd) } else { close(fd) }
                return outcome
            }
            close(fd) // stale or broken: the read goes again on a fresh connection
        }
        guard let fd = connect(host: host, port: port, deadline: deadline) else {
            return .notSent("cannot connect to \(host):\(port) (\(String(cString: strerror(errno))))")
        }
        let (outcome, reusable) = exchange(fd, host: host, port: port, path: path, body: body, deadline: deadline, keepAlive: pool != nil)
        if let pool, case .answer = outcome, reusable { pool.put(endpoint, fd) } else { close(fd) }
        return outcome
    }

    /// One request and its answer on `fd`; `reusable` when the connection may carry another.
    private static func exchange(
        _ fd: Int32, host: String, port: Int, path: String, body: Data, deadline: Date, keepAlive: Bool
    ) -> (HTTPOutcome, reusable: Bool) {
        var request = Data("POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n".utf8)
        request.append(Data("Content-Length: \(body.count)\r\nConnection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n".utf8))
        request.append(body)
        var written = 0
        while written < request.count {
            guard wait(fd, Int16(POLLOUT), deadline) else {
                return (written == 0 ? .notSent("timed out before sending") : .lost("timed out while sending"), false)
            }
            let n = request.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(fd, base + written, buffer.count - written, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                let reason = String(cString: strerror(errno))
                return (written == 0 ? .notSent("send: \(reason)") : .lost("send: \(reason)"), false)
            }
            written += n
        }
        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let (parsed, consumed, keep) = parseFraming(response, complete: false) {
                return (parsed, keepAlive && keep && consumed == response.count)
            }
            guard wait(fd, Int16(POLLIN), deadline) else { return (.lost("no answer before the timeout"), false) }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return (.lost("recv: \(String(cString: strerror(errno)))"), false)
            }
            if n == 0 {
                return (parseFraming(response, complete: true)?.0 ?? .lost("connection closed before a complete answer"), false)
            }
            response.append(contentsOf: chunk[0..<n])
            if response.count > maxResponseBytes { return (.lost("answer larger than \(maxResponseBytes) bytes"), false) }
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
            if r < 0 && errno != EINTR { return true } // the following call reports the error
        }
    }

    /// A complete answer in `bytes`, or nil while more is needed (or, when `complete`, an
    /// answer read to EOF; a malformed head is `lost`).
    static func parse(_ bytes: Data, complete: Bool) -> HTTPOutcome? { parseFraming(bytes, complete: complete)?.0 }

    /// `parse`, with how many bytes the answer took and whether the server keeps the connection.
    static func parseFraming(_ bytes: Data, complete: Bool) -> (HTTPOutcome, consumed: Int, keepAlive: Bool)? {
        let data = [UInt8](bytes)
        func lost(_ reason: String) -> (HTTPOutcome, consumed: Int, keepAlive: Bool) { (.lost(reason), data.count, false) }
        guard let headEnd = find(data, [13, 10, 13, 10], from: 0) else {
            return complete ? lost("connection closed inside the answer's head") : nil
        }
        let head = String(decoding: data[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            return lost("not an HTTP answer: \(statusLine.prefix(60))")
        }
        var contentLength: Int? = nil
        var chunked = false
        var keepAlive = parts[0] == "HTTP/1.1"
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let n = Int(value), n >= 0, n <= maxResponseBytes else { return lost("bad Content-Length '\(value)'") }
                contentLength = n
            } else if name == "transfer-encoding", value.lowercased().contains("chunked") {
                chunked = true
            } else if name == "connection", value.lowercased().contains("close") {
                keepAlive = false
            }
        }
        let bodyStart = headEnd + 4
        if chunked {
            var position = bodyStart
            var body = [UInt8]()
            while true {
                guard let lineEnd = find(data, [13, 10], from: position) else { return complete ? lost("truncated chunk") : nil }
                let sizeText = String(decoding: data[position..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0, size <= maxResponseBytes else {
                    return lost("bad chunk size")
                }
                let start = lineEnd + 2
                if size == 0 {
                    // The last chunk's line, any trailers, then an empty line.
                    guard let end = find(data, [13, 10, 13, 10], from: lineEnd) else { return complete ? lost("truncated chunk") : nil }
                    return (.answer(status: status, body: Data(body)), end + 4, keepAlive)
                }
                guard data.count >= start + size + 2 else { return complete ? lost("truncated chunk") : nil }
                body.append(contentsOf: data[start..<(start + size)])
                position = start + size + 2
            }
        }
        if let contentLength {
            guard data.count >= bodyStart + contentLength else {
                return complete ? lost("connection closed inside the answer's body") : nil
            }
            return (
                .answer(status: status, body: Data(data[bodyStart..<(bodyStart + contentLength)])), bodyStart + contentLength, keepAlive
            )
        }
        return complete ? (.answer(status: status, body: Data(data[bodyStart...])), data.count, false) : nil
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

/// Idle keep-alive connections per "host:port", for reads (at most 16 kept per member).
final class ConnectionPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [String: [Int32]] = [:] // guarded by lock

    func take(_ endpoint: String) -> Int32? { lock.withLock { idle[endpoint]?.popLast() } }

    func put(_ endpoint: String, _ fd: Int32) {
        let kept = lock.withLock { () -> Bool in
            guard (idle[endpoint]?.count ?? 0) < 16 else { return false }
            idle[endpoint, default: []].append(fd)
            return true
        }
        if !kept { close(fd) }
    }

    deinit {
        for fds in idle.values { for fd in fds { close(fd) } }
    }
}
