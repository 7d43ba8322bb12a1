import Testing
@testable import VitrineStore
@Test func packageBuilds() { #expect(Bool(true)) }
