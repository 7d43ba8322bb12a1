import Testing
import Vitrine
@Test func packageBuilds() { #expect(Bool(true)) }
