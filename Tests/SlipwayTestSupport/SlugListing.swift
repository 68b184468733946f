import Foundation

/// Every entry of a compressed slug as one line (name, mode, type, mtime, SHA-256 of its contents or link target),
/// read by Python's tarfile: an independent reader, so two slugs that list the same unpack to the same tree.
public func slugListing(_ slug: String) throws -> String {
    let script = """
        import hashlib, sys, tarfile
        with tarfile.open(sys.argv[1], "r:gz") as t:
            for m in t.getmembers():
                data = t.extractfile(m).read() if m.isfile() else m.linkname.encode()
                print(m.name, oct(m.mode), m.type, m.mtime, hashlib.sha256(data).hexdigest())
        """
    let result = try runTool(["/usr/bin/python3", "-c", script, slug])
    guard result.status == 0 else { throw HarnessError("Python's tarfile cannot read \(slug): \(result.stderr)") }
    return result.stdout
}
