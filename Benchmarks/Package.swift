// swift-tools-version: 6.0
// Vitrine's benchmark suite: Vitrine side by side with SQLite (WAL) and LMDB, same data, same run.
//
// A package of its own, so that the main package keeps zero dependencies. It depends on the main
// package by path and links the system SQLite and LMDB libraries through system-library targets
// (`setup.sh` installs their Debian -dev packages). Run it with `./run.sh [--size smoke|full]`.
import PackageDescription

let package = Package(
    name: "VitrineBenchmarks",
    dependencies: [
        .package(name: "Vitrine", path: "..")
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // C helpers for the few C entry points Swift cannot call (variadic `sqlite3_config`).
        .target(name: "CBenchSupport", dependencies: ["CSQLite"]),
        .executableTarget(
            name: "VitrineBench",
            dependencies: [
                "CSQLite",
                "CLMDB",
                "CBenchSupport",
                .product(name: "VitrineStore", package: "Vitrine"),
            ]
        ),
        // The domain on embedded Vitrine and on a 3-member etcd cluster, one run (cluster.sh).
        .executableTarget(
            name: "ClusterBench",
            dependencies: [
                .product(name: "Vitrine", package: "Vitrine"),
                .product(name: "VitrineEtcd", package: "Vitrine"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
