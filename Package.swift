// swift-tools-version: 6.0
// Vitrine: an embedded storage engine for social-commerce showcases and carts.
// No package dependencies, by design: Foundation, Glibc, Dispatch and the toolchain only.
import PackageDescription

let package = Package(
    name: "Vitrine",
    products: [
        .library(name: "VitrineStore", targets: ["VitrineStore"]),
        .library(name: "Vitrine", targets: ["Vitrine"]),
        .executable(name: "vitrine", targets: ["vitrine"]),
    ],
    targets: [
        .target(name: "VitrineStore"),
        .target(name: "Vitrine", dependencies: ["VitrineStore"]),
        .executableTarget(name: "vitrine", dependencies: ["Vitrine", "VitrineStore"]),
        // Test support shared by the test targets (fault injection, disk images); never shipped.
        .target(name: "VitrineTestSupport", dependencies: ["VitrineStore"], path: "Tests/VitrineTestSupport"),
        .testTarget(name: "VitrineStoreTests", dependencies: ["VitrineStore", "VitrineTestSupport"]),
        .testTarget(name: "VitrineTests", dependencies: ["Vitrine", "VitrineStore", "VitrineTestSupport"]),
        .testTarget(name: "vitrineCLITests", dependencies: ["Vitrine", "VitrineStore"]),
    ],
    swiftLanguageModes: [.v6]
)
