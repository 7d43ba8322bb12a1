// The pages themselves: pure functions from records to HTML, one per kind of page. Every piece
// of data is escaped where it is written (HTML.text for text and attribute values, links to
// other pages through SiteLayout, links to partners through LinkCheck); markup is only ever
// literal text of this file.

import Vitrine

/// Renders the static pages of the shop (see SiteLayout.swift for where each is written).
public enum ShopPageRenderer {
    /// An expert's showcase: `entries` newest first, each with its reason, price, what is left
    /// through the recommendation and the partner's badge. `more` says that older
    /// recommendations exist beyond these.
    public static func showcase(expert: Expert, entries: [ShowcaseEntry], more: Bool, partners: [PartnerID: Partner]) -> String {
        var body = "<h1>\(HTML.text(expert.displayName))</h1>\n"
        body += "<p class=\"meta\">\(HTML.text(expert.categories.joined(separator: " · ")))"
        body +=
            " · commission \(PageFrame.percent(expert.commissionBasisPoints)) · expert <code>\(HTML.text(expert.id.rawValue))</code></p>\n"
        if entries.isEmpty { body += "<p class=\"note\">No recommendations yet.</p>\n" }
        body += "<ol class=\"cards\">\n"
        for e in entries {
            let r = e.recommendation, p = e.product
            body += "<li class=\"card\">\n<h3>\(SiteLayout.link(.product, p.id.rawValue, label: p.title))</h3>\n"
            body += "<p class=\"reason\">\(HTML.text(r.reason))</p>\n"
            body += "<p class=\"facts\"><span class=\"price\">\(PageFrame.money(p.priceFen))</span>"
            body += leftText(available: e.available, offered: r.offeredQuantity, onSale: p.isOnSale)
            body += PageFrame.badge(p.partner, partners) + "</p>\n"
            body += "<p class=\"note\">\(HTML.text(p.merchant)) · \(HTML.text(r.category)) · \(PageFrame.time(r.createdAt))</p>\n</li>\n"
        }
        body += "</ol>\n"
        if more {
            body +=
                "<p class=\"note\">Only the newest \(entries.count) recommendations are on this page; "
                + "<code>vitrine showcase \(HTML.text(expert.id.rawValue))</code> pages through them all.</p>\n"
        }
        return PageFrame.document(title: expert.displayName, root: "../", body: body)
    }

    static func leftText(available: Int64, offered: Int64, onSale: Bool) -> String {
        if !onSale { return "<span class=\"left none\">off sale</span>" }
        if available <= 0 { return "<span class=\"left none\">sold out (\(offered) offered)</span>" }
        return "<span class=\"left\">\(available) left of \(offered)</span>"
    }

    /// A product: title, price, stock, merchant, category, partner, and the link to its page on
    /// the partner platform (only when ``LinkCheck`` allows it).
    public static func product(_ p: Product, partners: [PartnerID: Partner]) -> String {
        var body = "<h1>\(HTML.text(p.title))</h1>\n"
        body += "<p class=\"facts\"><span class=\"price\">\(PageFrame.money(p.priceFen))</span>"
        body +=
            p.isOnSale
            ? (p.stock > 0 ? "<span class=\"left\">\(p.stock) in stock</span>" : "<span class=\"left none\">out of stock</span>")
            : "<span class=\"left none\">off sale</span>"
        body += PageFrame.badge(p.partner, partners) + "</p>\n"
        body += "<div class=\"card\">\n<table>\n"
        body += "<tr><th>Merchant</th><td>\(HTML.text(p.merchant))</td></tr>\n"
        body += "<tr><th>Category</th><td>\(HTML.text(p.category))</td></tr>\n"
        body += "<tr><th>Sold</th><td>\(p.sold)</td></tr>\n"
        body += "<tr><th>Product</th><td><code>\(HTML.text(p.id.rawValue))</code></td></tr>\n"
        body += "</table>\n"
        let partnerName = partners[p.partner]?.name ?? p.partner.rawValue
        body += PageFrame.partnerLink(
            p.link, partner: partners[p.partner], attributed: false, label: "View on \(partnerName)", cssClass: "buy")
        body += "\n</div>\n"
        return PageFrame.document(title: p.title, root: "../", body: body)
    }

    /// A user's cart: each line with its quantity, the price when added and now, what is
    /// available, and the subtotal.
    public static func cart(user: UserID, displayName: String?, cart: Cart, partners: [PartnerID: Partner]) -> String {
        let name = displayName ?? user.rawValue
        var body = "<h1>Cart of \(HTML.text(name))</h1>\n"
        body += "<p class=\"meta\">user <code>\(HTML.text(user.rawValue))</code> · \(cart.items.count) line(s)</p>\n"
        if cart.items.isEmpty { body += "<p class=\"note\">The cart is empty.</p>\n" }
        body += "<ol class=\"cards\">\n"
        for item in cart.items {
            let title = item.product?.title ?? item.line.product.rawValue
            body += "<li class=\"card\">\n<h3>\(SiteLayout.link(.product, item.line.product.rawValue, label: title))</h3>\n"
            body += "<p class=\"facts\"><span class=\"price\">\(PageFrame.money(item.currentUnitPriceFen))</span>"
            body += "<span>× \(item.line.quantity)</span>"
            if item.priceChanged { body += "<span>was \(PageFrame.money(item.line.unitPriceFen)) when added</span>" }
            if let partner = item.product?.partner { body += PageFrame.badge(partner, partners) }
            body += "</p>\n"
            if let problem = item.problem {
                body += "<p class=\"note\">Cannot be bought now: \(HTML.text(problemText(problem))) (\(item.available) available).</p>\n"
            } else {
                body += "<p class=\"note\">\(item.available) available"
                if let held = item.heldUntil { body += ", held for you until \(PageFrame.time(held))" }
                body += ".</p>\n"
            }
            if let r = item.recommendation { body += "<p class=\"reason\">\(HTML.text(r.reason))</p>\n" }
            body += "</li>\n"
        }
        body += "</ol>\n"
        if let subtotal = cart.subtotalFen { body += "<p class=\"total\">Subtotal \(PageFrame.money(subtotal))</p>\n" }
        return PageFrame.document(title: "Cart of \(name)", root: "../", body: body)
    }

    static func problemText(_ r: Shortage.Reason) -> String {
        switch r {
        case .insufficientStock: return "not enough stock"
        case .productOffSale: return "off sale"
        case .productMissing: return "the product is gone"
        case .recommendationWithdrawn: return "the recommendation was withdrawn"
        case .recommendationMissing: return "the recommendation is gone"
        }
    }

    /// The payment links of an intermediate page: the purchase intents, or why the store would
    /// not make them (a stored link that no longer passes the link policy) with the stored links.
    public enum PaymentLinks: Sendable {
        /// The purchase intents the store made.
        case intents([PurchaseIntent])
        /// The store refused the intents (`reason`); `storedLinks` are the products' links, shown as text.
        case refused(reason: String, storedLinks: [ProductID: String])
    }

    /// The intermediate page of an order awaiting payment (the seed's 中间页): per partner, the
    /// products, prices and the attributed link to the partner's page, which is written as a
    /// link only when ``LinkCheck`` allows it.
    public static func intermediate(order: Order, links: PaymentLinks, partners: [PartnerID: Partner]) -> String {
        var body = "<h1>确认购买 · Complete your purchase</h1>\n"
        body += "<p class=\"meta\">Order <code>\(HTML.text(order.id.rawValue))</code> · placed \(PageFrame.time(order.placedAt))"
        if let due = order.paymentDueAt { body += " · pay by \(PageFrame.time(due))" }
        body += "</p>\n<p class=\"total\">Total \(PageFrame.money(order.totalFen))</p>\n"
        body +=
            "<p class=\"note\">Each partner is paid on its own page; the links below carry this order and the recommending expert.</p>\n"
        for partnerID in Set(order.lines.map(\.partner)).sorted() {
            let lines = order.lines.filter { $0.partner == partnerID && $0.keptQuantity > 0 }
            guard !lines.isEmpty else { continue }
            let partner = partners[partnerID]
            let partnerName = partner?.name ?? partnerID.rawValue
            var intent: PurchaseIntent? = nil
            if case .intents(let all) = links { intent = all.first { $0.partner == partnerID } }
            body += "<section class=\"card\">\n<h2>Sub-order at \(PageFrame.badge(partnerID, partners))</h2>\n"
            if let payment = intent?.payment {
                body += "<p class=\"note\">Paid: \(HTML.text(partnerName)) reference <code>\(HTML.text(payment.reference))</code>.</p>\n"
            }
            for line in lines {
                body += "<h3>\(SiteLayout.link(.product, line.product.rawValue, label: line.title))</h3>\n"
                body +=
                    "<p class=\"facts\"><span class=\"price\">\(PageFrame.money(line.unitPriceFen))</span><span>× \(line.keptQuantity)</span>"
                if let expert = line.expert {
                    body += "<span>recommended by \(SiteLayout.link(.showcase, expert.rawValue, label: expert.rawValue))</span>"
                }
                body += "</p>\n"
                switch links {
                case .intents:
                    let item = intent?.items.first { $0.product == line.product && $0.recommendation == line.recommendation }
                    if let item, intent?.payment == nil {
                        body +=
                            PageFrame.partnerLink(
                                item.url, partner: partner, attributed: true,
                                label: "Pay \(PageFrame.money(item.lineTotalFen)) on \(partnerName)", cssClass: "buy") + "\n"
                    }
                case .refused(let reason, let stored):
                    body +=
                        "<p class=\"refused\">No payment link: \(HTML.text(reason)).<code>\(HTML.text(stored[line.product] ?? ""))</code></p>\n"
                }
            }
            if let intent { body += "<p class=\"total\">\(HTML.text(partnerName)): \(PageFrame.money(intent.totalFen))</p>\n" }
            body += "</section>\n"
        }
        return PageFrame.document(title: "Order \(order.id.rawValue)", root: "../", body: body)
    }
}
