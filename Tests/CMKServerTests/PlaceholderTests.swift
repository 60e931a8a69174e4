import Testing
import HummingbirdTesting
@testable import CMKServer
