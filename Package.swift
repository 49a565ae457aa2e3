// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "layoutfs",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "layoutfs", targets: ["layoutfs"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CFUSE", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .target(name: "CLinuxShims"),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .target(name: "TarArchive", dependencies: ["CArchive"], swiftSettings: strict),
        .target(
            name: "FUSE",
            dependencies: ["CFUSE", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict),
        .target(
            name: "BlockingWork",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(name: "OCISpec", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .target(
            name: "ContentStore",
            dependencies: [
                "OCISpec", "CLinuxShims",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .target(
            name: "Registry",
            dependencies: [
                "OCISpec", "CLinuxShims", "BlockingWork",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "ImageStore",
            dependencies: ["ContentStore", "OCISpec"],
            swiftSettings: strict),
        .target(
            name: "LazyBlobs",
            dependencies: [
                "ImageStore", "ContentStore", "OCISpec", "Registry", "BlockingWork", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "ImagePull",
            dependencies: ["ImageStore", "LazyBlobs", "ContentStore", "OCISpec", "Registry", "BlockingWork", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "ImageImport",
            dependencies: ["ImageStore", "ContentStore", "OCISpec", "TarArchive", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "ImageExport",
            dependencies: [
                "ImageStore", "ImagePull", "ContentStore", "OCISpec", "Registry", "TarArchive", "CLinuxShims", "BlockingWork",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .target(name: "LayoutFS", dependencies: ["ContentStore", "OCISpec"], swiftSettings: strict),
        .target(
            name: "LayoutFSMount",
            dependencies: [
                "LayoutFS", "ImageStore", "LazyBlobs", "ContentStore", "OCISpec", "Registry", "FUSE", "BlockingWork",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .target(
            name: "LayoutFSCommands",
            dependencies: [
                "LayoutFSMount", "LayoutFS", "ImageStore", "LazyBlobs", "ImagePull", "ImageImport", "ImageExport", "ContentStore", "OCISpec", "Registry",
                "CLinuxShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "layoutfs", dependencies: ["LayoutFSCommands"], swiftSettings: strict),
        .target(
            name: "TestSupport",
            dependencies: ["OCISpec", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/TestSupport"),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec"]),
        .testTarget(name: "BlockingWorkTests", dependencies: ["BlockingWork"]),
        .testTarget(name: "LayoutFSCommandsTests", dependencies: ["LayoutFSCommands", "ImageStore", "ImagePull", "ImageExport"]),
        .testTarget(
            name: "ContentStoreTests", dependencies: ["ContentStore", "OCISpec", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(
            name: "ImagesTests",
            dependencies: [
                "ImageStore", "LazyBlobs", "ImagePull", "ImageImport", "ImageExport", "ContentStore", "OCISpec", "Registry", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "LayoutFSTests", dependencies: ["LayoutFS", "ContentStore", "OCISpec", "TestSupport"]),
        .testTarget(
            name: "LayoutFSMountTests",
            dependencies: [
                "LayoutFSMount", "LayoutFS", "ImageStore", "LazyBlobs", "OCISpec", "ContentStore", "Registry", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "OCISpec"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "OCISpec", "CLinuxShims", "Registry"]),
    ]
)
