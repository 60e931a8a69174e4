import CMKTenant
import Testing

@Suite struct TenantErrorTests {
    @Test func codesAreStable() {
        #expect(TenantError.Code.invalidInput.rawValue == "invalid_input")
        #expect(TenantError(.conflict, "taken").description == "taken")
    }
}
