// `vitrine demo`: the README's walk-through. On an empty database it loads the demo catalogue
// (seeds/catalogue.json, found from the current directory or the package the executable was
// built in; else made by the generator, which gives the same catalogue). Then: an expert's
// showcase page, a favourite, two cart lines, a checkout, the order, the stock before and after,
// the intermediate page's purchase intents, the partners' confirmations, the paid order, the
// commission pending then settled (settling through a store whose window is 0), and a return
// with its commission clawed back. Each run places a new order, so it can be run again and again.

import Foundation
import Vitrine
import VitrineStore

enum Demo: Command {
    static let spec = CommandSpec(
        name: "demo",
        summary: "walk through the API: showcase, favourite, cart, checkout, order, stock, commission",
        options: [.db],
        details: """
            Loads the demo catalogue into an empty database first (seeds/catalogue.json, or the same
            catalogue from the generator, seed 20150601). Safe to run again on the same file.
            """)

    static let seedsSeed: UInt64 = 20_150_601

    static func run(_ args: ParsedArguments) throws -> Int32 {
        try withDatabase(args, mustExist: false) { db in
            let store = try db.store()
            if try hasNoRecords(in: "product", db.backend) {
                let (catalogue, source) = try demoCatalogue()
                let summary = try ChunkedCatalogue(catalogue).importInto(store, label: "demo")
                print("Loaded \(source) into \(db.path): \(describe(summary)).\n")
            } else {
                print("Using \(db.path).\n")
            }
            return try walkThrough(store, db.backend)
        }
    }

    /// The checked-in seeds, or the generator's identical catalogue when they are not found.
    static func demoCatalogue() throws -> (Catalogue, String) {
        if let url = findSeeds() {
            do {
                return (try Catalogue(contentsOf: url), url.path)
            } catch {
                throw CLIError.failed("\(url.path): \(describe(error).message)")
            }
        }
        return (CatalogueGenerator(seed: seedsSeed).catalogue(.demo), "the demo catalogue (generated, seed \(seedsSeed))")
    }

    /// seeds/catalogue.json under the current directory, or under the package directory that
    /// holds the executable (.build/<config>/vitrine), searched upwards.
    static func findSeeds() -> URL? {
        let fm = FileManager.default
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        }
        for _ in 0..<6 {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        for c in candidates {
            let url = c.appendingPathComponent("seeds/catalogue.json")
            if fm.isReadableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static func walkThrough(_ store: Store<CLIBackend>, _ engine: CLIBackend) throws -> Int32 {
        // The expert: exp-0000 if present, else the first expert whose showcase has two lines to buy.
        var experts: [ExpertID] = []
        try engine.forEachRecord(table: "expert") { r in
            if let e = try? Tuple(unpacking: r.key).elements.last, case .string(let id) = e { experts.append(ExpertID(id)) }
        }
        experts.sort { ($0 == "exp-0000" ? 0 : 1, $0) < ($1 == "exp-0000" ? 0 : 1, $1) }
        var chosen: (Expert, Page<ShowcaseEntry>, [ShowcaseEntry])? = nil
        for id in experts.prefix(200) {
            let page = try store.showcase(of: id, limit: 5)
            let buyable = try buyableEntries(store, id)
            if buyable.count >= 2 {
                chosen = (try store.expert(id), page, Array(buyable.prefix(2)))
                break
            }
        }
        guard let (expert, page, toBuy) = chosen else {
            print("Nothing left to buy: every showcase is sold out. Restock with 'vitrine restock PRODUCT N'.")
            return 0
        }

        print("Showcase of \(expert.displayName) (\(expert.id)), commission \(percent(expert.commissionBasisPoints)), newest first:")
        for entry in page.items { Showcase.printEntry(entry) }

        // The user: the first one in the catalogue.
        var user = UserID("demo-user")
        try engine.forEachRecord(table: "user") { r in
            if user == "demo-user", let e = try? Tuple(unpacking: r.key).elements.last, case .string(let id) = e { user = UserID(id) }
        }
        let favourite = try store.addFavourite(user: user, product: toBuy[0].product.id)
        print("\n\(user) favourites \(toBuy[0].product.title) [\(favourite.product)].")

        try store.clearCart(.user(user))
        let before = try toBuy.map { try store.product($0.product.id) }
        var cart = try store.addToCart(.user(user), product: toBuy[0].product.id, recommendation: toBuy[0].recommendation.id, quantity: 1)
        cart = try store.addToCart(.user(user), product: toBuy[1].product.id, recommendation: toBuy[1].recommendation.id, quantity: 1)
        print("")
        printCart(user, cart)

        let key = "demo-" + UUID().uuidString.lowercased()
        let result = try store.checkout(user: user, idempotencyKey: key)
        print("\nChecked out with idempotency key \(key):")
        printOrder(result.order)

        print("\nStock before and after:")
        for p in before {
            let after = try store.product(p.id)
            print("  \(p.title) [\(p.id)]: \(p.stock) -> \(after.stock) (sold \(p.sold) -> \(after.sold))")
        }

        // The intermediate page: one hand-off per partner, the partner's own link with attribution.
        print("\nThe intermediate page (vitrine intent \(result.order.id)):")
        let intents = try store.purchaseIntents(for: result.order.id)
        for i in intents {
            print("  pay \(money(i.totalFen)) at \(i.partner):")
            for item in i.items { print("    \(item.quantity) × [\(item.product)] \(item.url)") }
        }

        // Each partner confirms its sub-order with its own reference: the order is paid.
        var order = result.order
        for i in intents {
            let reference = "\(i.partner)-" + UUID().uuidString.prefix(8).lowercased()
            order = try store.confirmPayment(order: order.id, partner: i.partner, reference: reference).order
            print(
                "\n\(i.partner) confirms payment, its order reference \(reference) (vitrine confirm \(order.id) --partner \(i.partner) --ref \(reference))."
            )
        }
        printOrder(order)

        let earning = try store.earning(of: expert.id, order: result.order.id)
        let totals = try store.earnings(of: expert.id)
        print(
            "\nCommission for \(expert.displayName) at \(percent(expert.commissionBasisPoints)): \(money(earning.commissionFen)) on this order, \(statusName(earning.status)); "
                + "pending \(money(totals.pendingFen)), settled \(money(totals.settledFen)) over \(totals.orders.count) order(s).")

        // Settlement: after the window (7 days by default); the demo's store uses a window of 0.
        do {
            try store.settleOrder(order.id)
        } catch let error as VitrineError {
            print("\nSettling now is refused with the standard window: \(describe(error)).")
        }
        let settling = try Store(backend: engine, configuration: demoConfiguration(settlementWindow: .zero))
        order = try settling.settleOrder(order.id)
        let afterSettle = try store.earnings(of: expert.id)
        print(
            "With the settlement window passed (the demo sets it to 0), order \(order.id) is \(statusName(order.status)): "
                + "pending \(money(afterSettle.pendingFen)), settled \(money(afterSettle.settledFen)).")
        try afterSale(store, order, expert)
        if case .etcd = engine {
            print("\nTry: vitrine order \(result.order.id) --etcd URLS   vitrine earnings \(expert.id) --etcd URLS")
        } else {
            print("\nTry: vitrine order \(result.order.id)   vitrine earnings \(expert.id)   vitrine check   vitrine inspect")
        }
        return 0
    }

    /// The standard configuration with another settlement window.
    static func demoConfiguration(settlementWindow: Duration) -> Configuration {
        var c = Configuration.standard
        c.settlementWindow = settlementWindow
        return c
    }

    /// After-sale, once the order is settled: the buyer returns one unit, which goes back in
    /// stock; the expert's commission on it is clawed back as a negative earning.
    static func afterSale(_ store: Store<CLIBackend>, _ order: Order, _ expert: Expert) throws {
        guard let line = order.lines.first(where: { $0.keptQuantity > 0 }) else { return }
        let r = try store.returnLines(
            of: order.id, [CheckoutLine(product: line.product, recommendation: line.recommendation, quantity: 1)], restock: true)
        let clawback = r.clawbackFen[expert.id] ?? 0
        print(
            "\nThe buyer returns 1 × \(line.title) [\(line.product)] (vitrine return \(order.id) --product \(line.product)"
                + "\(line.recommendation.map { " --rec \($0)" } ?? "") --restock): refund \(money(r.refundFen)), commission clawed back \(money(clawback))."
        )
        let totals = try store.earnings(of: expert.id)
        let ledger = try store.earningEntries(of: expert.id, limit: 2).items
        print(
            "Settled for \(expert.displayName) now \(money(totals.settledFen)); latest ledger entries: "
                + ledger.map { "\(money($0.amountFen)) (\($0.reason))" }.joined(separator: ", ") + ".")
    }

    /// Showcase entries (first pages) with at least one unit to buy through them.
    static func buyableEntries(_ store: Store<CLIBackend>, _ expert: ExpertID) throws -> [ShowcaseEntry] {
        var found: [ShowcaseEntry] = []
        var seen = Set<ProductID>()
        var cursor: PageCursor? = nil
        for _ in 0..<10 {
            let page = try store.showcase(of: expert, after: cursor, limit: 50)
            for e in page.items where e.product.isOnSale && e.product.stock >= 1 && e.recommendation.quantity >= 1 {
                if seen.insert(e.product.id).inserted { found.append(e) }
                if found.count >= 2 { return found }
            }
            guard let next = page.next else { break }
            cursor = next
        }
        return found
    }
}
