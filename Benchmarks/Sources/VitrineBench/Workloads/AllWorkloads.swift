// The ten workloads of issue 6, in order.

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
    Mixed(),
    OpenAndRecovery(),
]
