// swift-tools-version:6.1
// libFuzzer harnesses for cmkctl's parsers of outside input. A separate package so the product's
// build and CI are not slowed by sanitizer builds; run it through `scripts/fuzz`.
import Foundation
import PackageDescription

/// A path dependency's identity is the last component of its path, so it follows the checkout's
/// directory name (`cmkctl`, `main`, a worktree's name): read it rather than hard-code it.
let productPackage = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "cmkctl-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "..")
    ],
    targets: [
        // One binary, one harness per target; `CMK_FUZZ_TARGET` picks the harness (see scripts/fuzz).
        .executableTarget(
            name: "CMKFuzz",
            dependencies: [
                .product(name: "CMKJSON", package: productPackage),
                .product(name: "CMKEnvelope", package: productPackage),
                .product(name: "CMKKMS", package: productPackage),
                .product(name: "CMKWorkflow", package: productPackage),
                .product(name: "CMKTenant", package: productPackage),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ],
    swiftLanguageModes: [.v6]
)
