// The workloads of issues 6 and 12, in order.

import Foundation

let allWorkloads: [any Workload] = [
    BulkLoad(),
    PointReads(),
    ShowcasePages(),
    FullScan(),
    DurableAddToCart(),
    CheckoutThroughput(id: "6a", title: "Durable checkout, 1 thread", threads: 1, durability: .durable),
    CheckoutThroughput(id: "6b", title: "Durable checkout, 8 threads", threads: 8, durability: .durableConcurrent),
    FlashSale(id: "7", callers: 8),
    FlashSale(id: "7b", callers: 256),
    CheckoutThroughput(id: "8", title: "Relaxed checkout, 1 thread", threads: 1, durability: .relaxed),
    Mixed(id: "9", readers: ProcessInfo.processInfo.activeProcessorCount, writers: 1),
    Mixed(id: "9b", readers: 8, writers: 2),
    ColdReads(),
    LongReader(),
    SkewedPopularity(),
    LargeValues(),
    PriceUpdates(),
    CartChurn(),
    OpenAndRecovery(),
]
