// swift-tools-version: 6.0
// Vitrine: an embedded storage engine for social-commerce showcases and carts.
// No package dependencies, by design: Foundation, Glibc, Dispatch and the toolchain only.
import PackageDescription

let package = Package(
    name: "Vitrine",
    products: [
        .library(name: "VitrineStore", targets: ["VitrineStore"]),
        .library(name: "Vitrine", targets: ["Vitrine"]),
        .library(name: "VitrinePages", targets: ["VitrinePages"]),
        .library(name: "VitrineEtcd", targets: ["VitrineEtcd"]),
        .executable(name: "vitrine", targets: ["vitrine"]),
    ],
    targets: [
        // The CPU's CRC-32C instruction, which Swift cannot reach (a C file of the package, built
        // by the toolchain's own compiler: no dependency).
        .target(name: "CRC32CHardware"),
        // statx(2), which Glibc's Swift module does not export: a file's birth time, part of
        // the page-cache origin that lets recovery adopt a crashed session's pages (Recovery.swift).
        .target(name: "CFileIdentity"),
        // The CPU's prefetch hint, for scans (a header of the package, like the two above).
        .target(name: "CPrefetch"),
        .target(name: "VitrineStore", dependencies: ["CRC32CHardware", "CFileIdentity", "CPrefetch"]),
        .target(name: "Vitrine", dependencies: ["VitrineStore"]),
        // The shop as static web pages (`vitrine pages`), apart so that its escaping is tested directly.
        .target(name: "VitrinePages", dependencies: ["Vitrine"]),
        // The domain's keyspace on an etcd cluster, over HTTP with a small client of its own on
        // POSIX sockets (issue 13). Nothing else depends on it but the tool and its tests.
        .target(name: "VitrineEtcd", dependencies: ["Vitrine"]),
        .executableTarget(name: "vitrine", dependencies: ["Vitrine", "VitrineStore", "VitrinePages", "VitrineEtcd"]),
        // Test support shared by the test targets (fault injection, disk images); never shipped.
        .target(name: "VitrineTestSupport", dependencies: ["VitrineStore"], path: "Tests/VitrineTestSupport"),
        .testTarget(name: "VitrineStoreTests", dependencies: ["VitrineStore", "CRC32CHardware", "VitrineTestSupport"]),
        .testTarget(name: "VitrineTests", dependencies: ["Vitrine", "VitrineStore", "VitrineTestSupport"]),
        .testTarget(name: "VitrinePagesTests", dependencies: ["VitrinePages", "Vitrine", "VitrineStore"]),
        .testTarget(name: "vitrineCLITests", dependencies: ["Vitrine", "VitrineStore"]),
        .testTarget(name: "VitrineEtcdTests", dependencies: ["Vitrine", "VitrineStore", "VitrineEtcd"]),
    ],
    swiftLanguageModes: [.v6]
)
