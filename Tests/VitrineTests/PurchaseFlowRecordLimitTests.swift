// The purchase flow's records and keys fit FoundationDB's limits at the configured maxima, as
// RecordLimitTests proves for the others: the order with every after-sale and payment field
// present, a Payment, a ledger entry, and their keys.

import Testing

@testable import Vitrine

@Suite struct PurchaseFlowRecordLimitTests {
    typealias L = RecordLimitTests

    @Test(arguments: [Configuration.standard.maxCartLines, Configuration.maxCartLinesUpperBound])
    func largestOrderWithAfterSaleAndPaymentFieldsFitsOneValue(lines: Int) {
        var order = L.largestOrder(lines: lines)
        for i in order.lines.indices {
            order.lines[i].cancelledQuantity = L.wide
            order.lines[i].returnedQuantity = L.wide
            order.lines[i].restockedQuantity = L.wide
        }
        order.paymentDueAt = L.time
        order.paidAt = L.time
        let bytes = order.recordBytes.count
        #expect(bytes < L.valueLimit, "a \(lines)-line order at the maxima is \(bytes) bytes")
        #expect(Keys.orderDue(order)!.count < L.keyLimit)
    }

    @Test func paymentLedgerEntryAndTheirKeysFit() {
        let payment = Payment(order: OrderID(L.id), partner: PartnerID(L.id), reference: L.requestID, confirmedAt: L.time)
        #expect(payment.recordBytes.count < 1_000)
        #expect(Keys.payment(payment.order, payment.partner).count < L.keyLimit)
        #expect(Keys.paymentReference(payment).count < L.keyLimit)
        let entry = EarningEntry(expert: ExpertID(L.id), order: OrderID(L.id), amountFen: L.wide, at: L.time, reason: .returned)
        #expect(entry.recordBytes.count < 1_000)
        // Entry ids are an operation id and the order id.
        #expect(Keys.earningEntry(entry, id: L.id + "-" + L.id).count < L.keyLimit)
        #expect(Keys.earningDays(entry.expert).appending(.int(.min)).packed.count < L.keyLimit)
    }
}
