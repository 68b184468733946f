import Testing

@testable import SlipwaySpool

/// The rule that makes a host name belong to one app (issue 31's "Names"): `*.shop.test` must not take
/// `www.shop.test`, nor `api.corp.test` a name inside `*.corp.test`, in either order, whatever the case.
@Suite struct DomainNameTests {
    @Test func namesAreNormalizedOrRefused() {
        #expect(DomainName.normalized("WWW.Shop.Test") == "www.shop.test")
        #expect(DomainName.normalized("www.shop.test.") == "www.shop.test")
        #expect(DomainName.normalized("*.Corp.TEST.") == "*.corp.test")
        #expect(DomainName.normalized("xn--bcher-kva.example") == "xn--bcher-kva.example")
        for bad in ["www.shop.test..", ".", "", "bücher.example", "a..b", "*.", "*", "a.*.b", "-a.b", "a b.c"] {
            #expect(DomainName.normalized(bad) == nil, "\(bad)")
        }
    }

    @Test func overlapsInEitherDirection() {
        let overlapping: [(String, String)] = [
            ("www.shop.test", "www.shop.test"),
            ("*.shop.test", "www.shop.test"),
            ("*.corp.test", "api.corp.test"),
            ("*.corp.test", "a.b.corp.test"),
            ("*.corp.test", "*.corp.test"),
            ("*.corp.test", "*.eu.corp.test"),
        ]
        for (a, b) in overlapping {
            #expect(DomainName.overlaps(a, b) && DomainName.overlaps(b, a), "\(a) \(b)")
        }
        let apart: [(String, String)] = [
            ("www.shop.test", "shop.test"),
            ("*.shop.test", "shop.test"),
            ("*.shop.test", "myshop.test"),
            ("*.shop.test", "www.myshop.test"),
            ("*.shop.test", "*.myshop.test"),
            ("*.shop.test", "shop.test.example"),
            ("api.corp.test", "www.corp.test"),
        ]
        for (a, b) in apart {
            #expect(!DomainName.overlaps(a, b) && !DomainName.overlaps(b, a), "\(a) \(b)")
        }
    }

    @Test func aNameIsMoreSpecificThanAnyWildcardAndLongerWildcardsThanShorter() {
        #expect(DomainName.specificity("shop.test") > DomainName.specificity("*.a.b.c.shop.test"))
        #expect(DomainName.specificity("*.api.corp.test") > DomainName.specificity("*.corp.test"))
    }
}
