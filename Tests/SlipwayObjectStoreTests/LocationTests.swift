import SlipwayObjectStore
import SlipwaySpool
import XCTest

final class LocationTests: XCTestCase {
    func testParsesBucketAndPrefix() throws {
        let location = try S3Location(url: "s3://spool/prod/eu/", endpoint: "http://127.0.0.1:8333/", pathStyle: true)
        XCTAssertEqual(location.bucket, "spool")
        XCTAssertEqual(location.prefix, "prod/eu")
        XCTAssertEqual(location.endpoint, "http://127.0.0.1:8333")
        XCTAssertEqual(location.key("releases/a"), "prod/eu/releases/a")
        XCTAssertEqual(location.url, "s3://spool/prod/eu")
        XCTAssertEqual(
            try S3Location(url: "s3://spool", endpoint: "https://s3.example.com", pathStyle: false).prefix, "")
    }

    /// An endpoint given as an IP address can only be reached path-style (the bucket cannot be a name under an
    /// address), as the AWS SDKs decide by themselves; so can a bucket whose name has dots.
    func testAnAddressOrADottedBucketIsPathStyle() throws {
        for endpoint in ["http://127.0.0.1:8333", "https://10.1.2.3", "http://[::1]:8333"] {
            XCTAssertTrue(try S3Location(url: "s3://spool", endpoint: endpoint, pathStyle: false).pathStyle, endpoint)
        }
        XCTAssertTrue(
            try S3Location(url: "s3://my.spool", endpoint: "https://s3.example.com", pathStyle: false).pathStyle)
        for endpoint in ["https://s3.example.com", "http://minio:9000", "https://1.2.3.example.com"] {
            XCTAssertFalse(try S3Location(url: "s3://spool", endpoint: endpoint, pathStyle: false).pathStyle, endpoint)
        }
    }

    func testRefusesBadLocations() {
        for (url, endpoint) in [
            ("https://spool/x", "http://127.0.0.1:1"), ("s3://UPPER/x", "http://127.0.0.1:1"),
            ("s3://ab", "http://127.0.0.1:1"), ("s3://spool/../x", "http://127.0.0.1:1"),
            ("s3://spool", "127.0.0.1:8333"), ("s3://spool", "http://127.0.0.1:1/path"),
        ] {
            XCTAssertThrowsError(try S3Location(url: url, endpoint: endpoint, pathStyle: true), url) { error in
                XCTAssertEqual((error as? ObjectStoreError)?.code, .badLocation)
            }
        }
    }

    func testCredentialsFileMustBePrivate() throws {
        let folder = NSTemporaryDirectory() + "creds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = "\(folder)/s3-credentials"
        try "# keys\nAWS_ACCESS_KEY_ID=id1\nAWS_SECRET_ACCESS_KEY=s/e=cret\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        XCTAssertThrowsError(try S3Credentials.load(environment: [:], file: file)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"))
        }
        chmod(file, 0o600)
        let credentials = try S3Credentials.load(environment: [:], file: file)
        XCTAssertEqual(credentials, S3Credentials(accessKeyID: "id1", secretAccessKey: "s/e=cret"))
        XCTAssertFalse("\(credentials)".contains("s/e=cret"))
        let fromEnvironment = try S3Credentials.load(
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], file: file)
        XCTAssertEqual(fromEnvironment.accessKeyID, "a")
        XCTAssertThrowsError(try S3Credentials.load(environment: [:], file: "\(folder)/none"))
    }

    func testBucketLayoutKeysSortByVersion() {
        XCTAssertEqual(BucketLayout.manifestKey(app: "web", version: 7), "releases/web/0000000007.json")
        XCTAssertEqual(BucketLayout.claimKey(app: "web", version: 12), "claims/web/0000000012.json")
        XCTAssertEqual(BucketLayout.slugKey(app: "web", sha256: "ab"), "slugs/web/ab.tgz")
        XCTAssertLessThan(
            BucketLayout.manifestKey(app: "web", version: 9), BucketLayout.manifestKey(app: "web", version: 10))
        XCTAssertEqual(BucketLayout.parseManifestKey("releases/web/0000000007.json")?.version, 7)
        XCTAssertEqual(BucketLayout.parseManifestKey("releases/web/0000000007.json")?.app, "web")
        for bad in [
            "releases/web/7.json", "releases/web/0000000007.txt", "claims/web/0000000007.json",
            "releases/0000000007.json",
        ] {
            XCTAssertNil(BucketLayout.parseManifestKey(bad), bad)
        }
    }
}
