// Writing the whole site from a store: each page is rendered, written and dropped before the
// next is read, and the index's entries go to files as they come (IndexPage), so memory holds one
// page and the ids of the products still to write (at most the limits times the showcase size),
// never the catalogue. The limits bound the work on a large store (a generated 1,000,000-product
// file has 100,000 experts); the summary says when one was reached.
//
// Order of work: showcases (expert directory order), carts (user id order, or the users asked
// for), intermediate pages (orders awaiting payment, soonest deadline first), then the pages of
// the products those pages link to (so every link inside the site leads to a page), then the
// index. Each read is its own snapshot: a store written meanwhile gives pages that are each
// consistent but maybe not with each other.

import Foundation
import Vitrine

/// What ``ShopPages`` writes, and how much of a large store.
public struct ShopPagesOptions: Sendable {
    /// The most showcases (experts) written, in expert id order.
    public var maxShowcases: Int = 1000
    /// The newest recommendations shown per showcase (1...1000).
    public var showcaseSize: Int = 50
    /// The most carts written (users with a cart, in user id order) when ``users`` is nil.
    public var maxCarts: Int = 1000
    /// The most intermediate pages written (orders awaiting payment, soonest deadline first).
    public var maxOrders: Int = 1000
    /// Write the carts of these users only (their carts may be empty); nil: users with a cart.
    public var users: [UserID]? = nil

    /// The defaults: 1000 showcases of the newest 50 recommendations, 1000 carts, 1000 orders.
    public init() {}
}

/// What ``ShopPages/write(to:progress:)`` wrote.
public struct ShopPagesSummary: Sendable, Codable {
    /// Showcase pages written.
    public var showcases = 0
    /// Product pages written.
    public var products = 0
    /// Cart pages written.
    public var carts = 0
    /// Intermediate pages written.
    public var orders = 0
    /// Pages not written: an id with no safe file name (a damaged record), an order whose
    /// payment time passed (no sweep has expired it yet).
    public var skipped = 0
    /// One line per limit reached ("showcases: the first 1000 experts of more").
    public var limitsReached: [String] = []
    /// Every file written, the index included.
    public var files: Int { showcases + products + carts + orders + 1 }
}

/// Why the pages could not be written.
public enum ShopPagesError: Error, CustomStringConvertible {
    /// The directory holds files this tool did not write; it is never cleared.
    case directoryNotEmpty(String)
    /// A file or directory could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .directoryNotEmpty(let path):
            return "\(path) is not empty and was not written by vitrine pages (no \(SiteLayout.marker)): give an empty or new directory"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// The shop as static web pages: showcases, products, carts and intermediate pages, and an index.
public struct ShopPages<Backend: OrderedKeyValueStore> {
    /// The store the pages are read from.
    public let store: Store<Backend>
    /// What to write, and how much.
    public var options: ShopPagesOptions

    /// Pages of `store`, within `options`.
    public init(store: Store<Backend>, options: ShopPagesOptions = ShopPagesOptions()) {
        self.store = store
        self.options = options
    }

    /// Writes the site into `directory` (created when missing). A directory written before by
    /// this tool has its pages replaced; any other non-empty directory is refused.
    /// - Parameters:
    ///   - directory: where the site goes (index.html at its top).
    ///   - progress: called now and then with what is being written and how many pages so far.
    /// - Returns: how many pages of each kind were written, and the limits reached.
    /// - Throws: ``ShopPagesError``, `VitrineError` from the reads; backend errors.
    public func write(to directory: URL, progress: (String, Int) -> Void = { _, _ in }) throws -> ShopPagesSummary {
        let out = try SiteDirectory(directory)
        var summary = ShopPagesSummary()
        let index = try IndexPage(parts: directory.appendingPathComponent(".index-parts"))
        var products = ProductSet()
        let partners = Dictionary(try store.partners().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func tick(_ what: String) {
            let n = summary.showcases + summary.products + summary.carts + summary.orders
            if n % 100 == 0 { progress(what, n) }
        }

        // Showcases.
        var expertCursor: PageCursor? = nil
        showcases: repeat {
            let page = try store.experts(after: expertCursor, limit: 100)
            for expert in page.items {
                if summary.showcases == options.maxShowcases {
                    summary.limitsReached.append("showcases: the first \(options.maxShowcases) experts only")
                    break showcases
                }
                guard let name = PageFileName.forID(expert.id.rawValue) else { summary.skipped += 1; continue }
                let entries = try store.showcase(of: expert.id, limit: options.showcaseSize)
                for e in entries.items { products.insert(e.product.id) }
                try out.write(
                    .showcase, name,
                    ShopPageRenderer.showcase(
                        expert: expert, entries: entries.items, more: entries.next != nil, partners: partners))
                try index.add(
                    .showcase, expert.id.rawValue, label: expert.displayName,
                    detail: "\(entries.items.count)\(entries.next != nil ? "+" : "") recommendations")
                summary.showcases += 1
                tick("showcases")
            }
            expertCursor = page.next
        } while expertCursor != nil

        // Carts.
        var users: [UserID] = options.users ?? []
        var userCursor: PageCursor? = nil
        var moreUsers = options.users == nil
        while true {
            if users.isEmpty {
                guard moreUsers else { break }
                let page = try store.usersWithCarts(after: userCursor, limit: 100)
                users = page.items
                userCursor = page.next
                moreUsers = page.next != nil
                if users.isEmpty { break }
            }
            let user = users.removeFirst()
            if options.users == nil && summary.carts == options.maxCarts {
                summary.limitsReached.append("carts: the first \(options.maxCarts) users with a cart only")
                break
            }
            guard let name = PageFileName.forID(user.rawValue) else { summary.skipped += 1; continue }
            let cart = try store.cart(.user(user))
            let displayName: String?
            do { displayName = try store.user(user).displayName } catch VitrineError.unknownUser { displayName = nil }
            for item in cart.items { products.insert(item.line.product) }
            try out.write(.cart, name, ShopPageRenderer.cart(user: user, displayName: displayName, cart: cart, partners: partners))
            try index.add(.cart, user.rawValue, label: displayName ?? user.rawValue, detail: "\(cart.items.count) line(s)")
            summary.carts += 1
            tick("carts")
        }

        // Intermediate pages.
        var orderCursor: PageCursor? = nil
        orders: repeat {
            let page = try store.ordersAwaitingPayment(after: orderCursor, limit: 100)
            for order in page.items {
                if summary.orders == options.maxOrders {
                    summary.limitsReached.append("intermediate pages: the first \(options.maxOrders) orders awaiting payment only")
                    break orders
                }
                guard let name = PageFileName.forID(order.id.rawValue) else { summary.skipped += 1; continue }
                let links: ShopPageRenderer.PaymentLinks
                do {
                    links = .intents(try store.purchaseIntents(for: order.id))
                } catch VitrineError.paymentOverdue, VitrineError.orderStatusConflict {
                    summary.skipped += 1 // overdue (or changed since the listing): nothing to pay
                    continue
                } catch let error as VitrineError where Self.isLinkError(error) {
                    var stored: [ProductID: String] = [:]
                    for line in order.lines { stored[line.product] = (try? store.product(line.product))?.link }
                    links = .refused(reason: Self.linkReason(error), storedLinks: stored)
                }
                for line in order.lines { products.insert(line.product) }
                try out.write(.order, name, ShopPageRenderer.intermediate(order: order, links: links, partners: partners))
                try index.add(.order, order.id.rawValue, label: order.id.rawValue, detail: PageFrame.money(order.totalFen))
                summary.orders += 1
                tick("intermediate pages")
            }
            orderCursor = page.next
        } while orderCursor != nil

        // The products linked from those pages.
        for id in products.inOrder {
            guard let name = PageFileName.forID(id.rawValue) else { summary.skipped += 1; continue }
            let product: Product
            do { product = try store.product(id) } catch VitrineError.unknownProduct { continue }
            try out.write(.product, name, ShopPageRenderer.product(product, partners: partners))
            try index.add(.product, id.rawValue, label: product.title, detail: PageFrame.money(product.priceFen))
            summary.products += 1
            tick("products")
        }
        try index.write(to: directory.appendingPathComponent(SiteLayout.index), limits: summary.limitsReached)
        return summary
    }

    static func isLinkError(_ error: VitrineError) -> Bool {
        switch error {
        case .malformedLink, .linkNotHTTPS, .invalidLink, .linkHostNotAllowed, .unknownPartner: return true
        default: return false
        }
    }

    static func linkReason(_ error: VitrineError) -> String {
        switch error {
        case .malformedLink: return "the product's stored link is not a link"
        case .linkNotHTTPS(_, let scheme): return "the product's stored link uses \(scheme), not https"
        case .invalidLink(_, let reason): return "the product's stored link is refused: \(reason)"
        case .linkHostNotAllowed(let host, let partner, _): return "host \(host) is not one of \(partner)'s domains"
        case .unknownPartner(let partner): return "partner \(partner) is not registered"
        default: return "the link policy refused the link"
        }
    }
}

/// Product ids in first-seen order, each once.
struct ProductSet {
    private(set) var inOrder: [ProductID] = []
    private var seen = Set<ProductID>()

    mutating func insert(_ id: ProductID) {
        if seen.insert(id).inserted { inOrder.append(id) }
    }
}

/// The output directory: checked once, then written page by page.
struct SiteDirectory {
    let root: URL

    init(_ root: URL) throws {
        self.root = root
        let fm = FileManager.default
        let marker = root.appendingPathComponent(SiteLayout.marker).path
        let names: [String]
        do {
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            names = try fm.contentsOfDirectory(atPath: root.path)
        } catch {
            throw ShopPagesError.cannotWrite(path: root.path, reason: Self.reason(error))
        }
        if !names.isEmpty && !fm.fileExists(atPath: marker) { throw ShopPagesError.directoryNotEmpty(root.path) }
        do {
            // Only what this tool writes is removed: the page directories, the index, the marker.
            for kind in PageKind.allCases {
                let dir = root.appendingPathComponent(kind.rawValue)
                if fm.fileExists(atPath: dir.path) { try fm.removeItem(at: dir) }
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            }
            try Data("written by vitrine pages\n".utf8).write(to: URL(fileURLWithPath: marker))
        } catch {
            throw ShopPagesError.cannotWrite(path: root.path, reason: Self.reason(error))
        }
    }

    func write(_ kind: PageKind, _ name: String, _ html: String) throws {
        try write(root.appendingPathComponent(kind.rawValue).appendingPathComponent(name), html)
    }

    private func write(_ url: URL, _ html: String) throws {
        do { try Data(html.utf8).write(to: url) } catch { throw ShopPagesError.cannotWrite(path: url.path, reason: Self.reason(error)) }
    }

    static func reason(_ error: Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}

/// The index: links to every page written, by kind. Entries are appended to one file per kind
/// as pages are written (so memory does not grow with the site), then joined into index.html.
final class IndexPage {
    private static let order: [(PageKind, String)] = [
        (.showcase, "Showcases"), (.order, "Intermediate pages (orders awaiting payment)"), (.cart, "Carts"), (.product, "Products"),
    ]
    private let parts: URL
    private var buffers: [PageKind: String] = [:]
    private var counts: [PageKind: Int] = [:]

    init(parts: URL) throws {
        self.parts = parts
        do {
            try? FileManager.default.removeItem(at: parts)
            try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
            for kind in PageKind.allCases { try Data().write(to: file(kind)) }
        } catch {
            throw ShopPagesError.cannotWrite(path: parts.path, reason: SiteDirectory.reason(error))
        }
    }

    private func file(_ kind: PageKind) -> URL { parts.appendingPathComponent(kind.rawValue) }

    func add(_ kind: PageKind, _ id: String, label: String, detail: String) throws {
        buffers[kind, default: ""] +=
            "<li>\(SiteLayout.link(kind, id, label: label, root: "")) <span class=\"note\">\(HTML.text(detail))</span></li>\n"
        counts[kind, default: 0] += 1
        if buffers[kind, default: ""].utf8.count >= 1 << 16 { try flush(kind) }
    }

    private func flush(_ kind: PageKind) throws {
        guard let text = buffers[kind], !text.isEmpty else { return }
        do {
            let handle = try FileHandle(forWritingTo: file(kind))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw ShopPagesError.cannotWrite(path: file(kind).path, reason: SiteDirectory.reason(error))
        }
        buffers[kind] = ""
    }

    /// Writes index.html to `url` from the parts, then removes them.
    func write(to url: URL, limits: [String]) throws {
        do {
            for kind in PageKind.allCases { try flush(kind) }
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            let out = try FileHandle(forWritingTo: url)
            defer { try? out.close() }
            try out.truncate(atOffset: 0)
            var text = PageFrame.head(title: "Index", root: "")
            text +=
                "<h1>Vitrine 微橱窗</h1>\n<p class=\"meta\">Experts' showcases, products, carts and the pages that hand a purchase to the partner.</p>\n"
            for (kind, title) in Self.order {
                let count = counts[kind] ?? 0
                text += "<h2>\(title) (\(count))</h2>\n" + (count == 0 ? "<p class=\"note\">None.</p>\n" : "<ul class=\"links\">\n")
                try out.write(contentsOf: Data(text.utf8))
                text = ""
                if count > 0 {
                    // Copied in chunks: the part may be larger than memory should hold at once.
                    let part = try FileHandle(forReadingFrom: file(kind))
                    defer { try? part.close() }
                    while let chunk = try part.read(upToCount: 1 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk) }
                    text = "</ul>\n"
                }
            }
            if !limits.isEmpty {
                text +=
                    "<h2>Limits reached</h2>\n<ul class=\"links note\">\n"
                    + limits.map { "<li>\(HTML.text($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            }
            text += PageFrame.tail
            try out.write(contentsOf: Data(text.utf8))
            try FileManager.default.removeItem(at: parts)
        } catch let error as ShopPagesError {
            throw error
        } catch {
            throw ShopPagesError.cannotWrite(path: url.path, reason: SiteDirectory.reason(error))
        }
    }
}
