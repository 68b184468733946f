import Foundation

/// A certificate authority made for one test with `openssl`, and a server certificate it signed for `localhost` and
/// `127.0.0.1`: what a TLS receiver the test starts presents, and what the client under test is told to trust.
public struct TestCertificates: Sendable {
    /// The CA's certificate (PEM): the bundle the client trusts.
    public let caFile: String
    /// The server's certificate (PEM) and its key.
    public let certificateFile: String
    public let keyFile: String

    /// Makes the CA and the server's certificate in `folder`.
    public init(in folder: String) throws {
        let openssl = try tool("openssl")
        caFile = "\(folder)/ca.pem"
        certificateFile = "\(folder)/server.pem"
        keyFile = "\(folder)/server.key"
        let caKey = "\(folder)/ca.key"
        let request = "\(folder)/server.csr"
        let extensions = "\(folder)/server.ext"
        try Data(
            """
            subjectAltName=DNS:localhost,IP:127.0.0.1
            basicConstraints=CA:FALSE
            keyUsage=digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth

            """.utf8
        ).write(to: URL(fileURLWithPath: extensions))
        let steps: [[String]] = [
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", caFile,
                "-days", "2", "-subj", "/CN=Slipway Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            [
                openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", request, "-subj",
                "/CN=localhost",
            ],
            [
                openssl, "x509", "-req", "-in", request, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial", "-out",
                certificateFile, "-days", "2", "-extfile", extensions,
            ],
        ]
        for step in steps {
            let result = try runTool(step, timeout: 60)
            guard result.status == 0 else {
                throw ToolError.launchFailed(step, "exit \(result.status): \(result.stderr)")
            }
        }
    }
}
