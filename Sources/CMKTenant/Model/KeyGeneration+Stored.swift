import CMKKMS

extension KeyGeneration {
    /// A key read back from the store, parsed like one from the command line: a row edited to hold
    /// another host in its region never reaches a client. Only generation 0 (the operator's key)
    /// may name an alias. Every backend reads its keys through here.
    public static func storedKey(region: String, keyARN: String, allowAlias: Bool, tenant: String, number: Int) throws
        -> RegionalKey
    {
        let arn: KeyARN
        do { arn = try KeyARN(validating: keyARN, allowAlias: allowAlias) } catch let error as KMSError {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) key generation \(number) holds an invalid key: \(error.message)")
        }
        guard arn.region == region else {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) key generation \(number): key \(arn) is stored under region \(region.escapingControlCharacters)")
        }
        return RegionalKey(region: region, keyARN: arn.description)
    }
}
