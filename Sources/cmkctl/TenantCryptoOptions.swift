import ArgumentParser
import CMKEnvelope
import CMKKMS
import CMKTenant
import CMKWorkflow
import Foundation

/// `encrypt --tenant` and `decrypt --tenant`: the tenant, the store it is read from and the operator
/// configuration (context key, KMS endpoints, the local KMS file).
struct TenantCryptoOptions: ParsableArguments {
    @Option(help: "Tenant id: encrypt under the tenant's current key generation, or decrypt a message of any generation it has, with its encryption-context identifier bound in. Keys come from the store: no --key.")
    var tenant: String?

    @OptionGroup var tenantStore: TenantStoreOptions

    /// Checks that `--tenant` and `--key` are not mixed, and that the KMS options a tenant takes from
    /// the operator configuration are not given on the command line.
    func validate(keys: [String], kms: KMSClientOptions) throws {
        guard let tenant else {
            guard !keys.isEmpty else { throw ValidationError("at least one --key is required (\(KeySpec.help)), or --tenant ID") }
            return
        }
        try checkTenantOption(tenant)
        guard keys.isEmpty else {
            throw ValidationError("--key and --tenant cannot be combined: a tenant's keys come from the store")
        }
        guard kms.endpoints.isEmpty else {
            throw ValidationError("--kms-endpoint cannot be combined with --tenant: KMS endpoints come from the operator configuration (kmsEndpoints in --config)")
        }
        guard kms.local.path == LocalKMS.defaultPath else {
            throw ValidationError("--local-kms cannot be combined with --tenant: the local KMS file comes from the operator configuration (localKms in --config)")
        }
    }

    /// Opens the store and the KMS clients the operator configuration describes, and runs `body` with them.
    ///
    /// `ErrorPresenter` gives the exit codes: a store that cannot be opened 74, an unknown tenant 67, a
    /// suspended one 77, a message that cannot be decrypted 65.
    func withTenantStore(profile: String?, timeoutSeconds: Double,
                         _ body: (OperatorConfiguration, TenantKMS, any StoreBackend) async throws -> Void) async throws {
        try await tenantStore.withTenantStore(profile: profile, timeoutSeconds: timeoutSeconds, body)
    }
}

/// The store and the operator configuration a tenant's crypto reads: `encrypt`/`decrypt --tenant`
/// and `serve`.
struct TenantStoreOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The operator configuration (contextKey, kmsEndpoints, localKms, ...) for tenant keys. Missing file: built-in defaults.")
    var config: String = OperatorConfiguration.defaultPath

    /// Opens the store and the KMS clients the operator configuration describes, and runs `body` with them.
    /// The store is never created here.
    func withTenantStore<T>(profile: String?, timeoutSeconds: Double,
                            _ body: (OperatorConfiguration, TenantKMS, any StoreBackend) async throws -> T) async throws -> T {
        let configuration = try OperatorConfiguration.load(path: config)
        // The options' validation bounded the timeout to 0.1...300 s, so the conversion cannot trap.
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded()))
        return try await TenantKMS.withClients(configuration: configuration, profile: profile, timeout: timeout) { kms in
            try await storeOptions.withStore(create: false) { store in
                try await body(configuration, kms, store)
            }
        }
    }
}
