import SlipwayObjectStore
import XCTest

/// The signer against AWS's Signature Version 4 test suite (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, region
/// us-east-1, service "service"), comparing each step: canonical request, string to sign, signature; and against
/// the S3 documentation's own example of a signed GET.
final class SigV4Tests: XCTestCase {
    let suite = SigV4(
        credentials: S3Credentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    let timestamp = "20150830T123600Z"
    let host = (name: "Host", value: "example.amazonaws.com")
    let date = (name: "X-Amz-Date", value: "20150830T123600Z")
    /// The S3 documentation's example credentials, for its examples.
    let s3Example = SigV4(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")

    func testGetVanilla() {
        let request = SigV4.Request(
            method: "GET", path: "/", headers: [host, date], payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(
            SigV4.canonicalRequest(request),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + SigV4.emptyPayloadHash)
        XCTAssertEqual(
            suite.stringToSign(request, timestamp: timestamp),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        XCTAssertEqual(
            suite.authorization(request, timestamp: timestamp),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    func testGetVanillaQueryOrderKeyCase() {
        let request = SigV4.Request(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: [host, date],
            payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(
            SigV4.canonicalRequest(request),
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                + "host;x-amz-date\n" + SigV4.emptyPayloadHash)
        XCTAssertEqual(
            suite.stringToSign(request, timestamp: timestamp),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0")
        XCTAssertEqual(
            suite.signature(request, timestamp: timestamp),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    func testPostVanilla() {
        let request = SigV4.Request(
            method: "POST", path: "/", headers: [host, date], payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(
            suite.signature(request, timestamp: timestamp),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    func testPostHeaderValueCase() {
        let request = SigV4.Request(
            method: "POST", path: "/", headers: [host, ("My-Header1", "VALUE1"), date],
            payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(SigV4.signedHeaders(request), "host;my-header1;x-amz-date")
        XCTAssertEqual(
            suite.signature(request, timestamp: timestamp),
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d")
    }

    func testGetHeaderValueTrim() {
        let request = SigV4.Request(
            method: "GET", path: "/",
            headers: [host, ("My-Header1", " value1"), ("My-Header2", "\"a   b   c\""), date],
            payloadHash: SigV4.emptyPayloadHash)
        XCTAssertTrue(SigV4.canonicalRequest(request).contains("my-header1:value1\nmy-header2:\"a b c\"\n"))
        XCTAssertEqual(
            suite.signature(request, timestamp: timestamp),
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    }

    func testGetUnreserved() {
        let path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        XCTAssertEqual(SigV4.uriEncode(path, keepSlash: true), path)
        let request = SigV4.Request(
            method: "GET", path: path, headers: [host, date], payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(
            suite.signature(request, timestamp: timestamp),
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")
    }

    /// The example of the S3 API reference ("Example: GET Object"): a ranged GET of `test.txt`.
    func testS3GetObjectExample() {
        let request = SigV4.Request(
            method: "GET", path: "/test.txt",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4.emptyPayloadHash)
        XCTAssertEqual(
            suite.scope(timestamp: "20130524T000000Z"), "20130524/us-east-1/service/aws4_request")
        XCTAssertEqual(
            s3Example.signature(request, timestamp: "20130524T000000Z"),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    func testEncodingOfKeysAndQueries() {
        XCTAssertEqual(SigV4.uriEncode("a b/c+d", keepSlash: true), "a%20b/c%2Bd")
        XCTAssertEqual(SigV4.uriEncode("a/b"), "a%2Fb")
        XCTAssertEqual(SigV4.canonicalQuery([("uploads", "")]), "uploads=")
        XCTAssertEqual(SigV4.timestamp(Date(timeIntervalSince1970: 1_440_938_160)), "20150830T123600Z")
    }

    /// The S3 documentation's example of a presigned URL ("Authenticating Requests: Using Query Parameters"):
    /// GET examplebucket/test.txt, 2013-05-24, valid for a day.
    func testPresignedURLMatchesTheS3DocumentationExample() {
        let query = s3Example.presignedQuery(
            method: "GET", path: "/test.txt", host: "examplebucket.s3.amazonaws.com", timestamp: "20130524T000000Z",
            expires: 86_400)
        // The documentation's signature; the parameters in the canonical (sorted) order, which S3 accepts too.
        XCTAssertEqual(
            SigV4.canonicalQuery(query),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
                + "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
                + "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404&"
                + "X-Amz-SignedHeaders=host")
        // Never longer than S3 allows.
        let long = s3Example.presignedQuery(
            method: "GET", path: "/k", host: "h", timestamp: "20130524T000000Z", expires: 30 * 86_400)
        XCTAssertEqual(long.first { $0.name == "X-Amz-Expires" }?.value, "604800")
    }
}
