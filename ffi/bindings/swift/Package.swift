// swift-tools-version:5.7
// Porter for Swift: `import Porter`. Link libporter_ffi.a built for your targets (ffi/README.md:
// "Building for iOS"), e.g. `swift build -Xlinker -L../../../target/release` on macOS, or wrap
// the libraries in an XCFramework and replace CPorter by a binaryTarget.
//
// Not compiled in Porter's CI (no Swift toolchain there): CI compiles Sources/CPorter's module
// map as a Clang module and runs a C file importing it (ci/import_test.c). See ffi/README.md.
import PackageDescription

let package = Package(
    name: "Porter",
    platforms: [.iOS(.v13), .macOS(.v11)],
    products: [
        .library(name: "Porter", targets: ["Porter"]),
    ],
    targets: [
        .systemLibrary(name: "CPorter", path: "Sources/CPorter"),
        .target(name: "Porter", dependencies: ["CPorter"], path: "Sources/Porter"),
        .testTarget(name: "PorterTests", dependencies: ["Porter"], path: "Tests/PorterTests"),
    ]
)
