import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A Django app set up as Heroku's python-getting-started is (`SECURE_SSL_REDIRECT` on whenever it runs on a dyno,
/// trusting the router's `X-Forwarded-Proto`), pushed and served over HTTPS through the router with a certificate
/// from a private ACME CA (pebble). On a plain-HTTP router such an app redirects every request to an HTTPS that is not
/// there; here it answers its page over HTTPS, and the router itself sends plain HTTP to HTTPS.
///
/// Django and gunicorn come from PyPI, as they would for a user (the python buildpack runs pip).
@Suite(.serialized) struct HTTPSDjangoTests {
    @Test func aDjangoAppWithSecureSSLRedirectServesItsPageOverHTTPS() throws {
        let h = try PushHarness("https-django")
        let repo = try h.makeApp(files: Self.gettingStarted)
        let runner = try HTTPSRunner(h)
        defer { withExtendedLifetime(runner) {} }
        let (http, https, pebble, log) = (runner.http, runner.https, runner.pebble, runner.log)

        let push = try h.push(repo)
        #expect(push.status == 0, "\(push.output)")
        #expect(push.output.contains("Installing dependencies from requirements.txt with pip"), "\(push.output)")
        #expect(try h.ssh("domains:add myapp shop.test").status == 0)
        let root = try pebble.issuingRoot()

        // Over HTTPS, Django sees a secure request (the router's X-Forwarded-Proto) and answers its page: no redirect.
        var page = (status: "", body: "")
        #expect(
            waitUntil(seconds: 120) {
                page = Self.curl(["--cacert", root, "https://shop.test:\(https)/"], port: https)
                return page.status.hasPrefix("200 ")
            }, "\(page) \(PushToRunnerTests.read(log).suffix(3000))")
        #expect(page.body.contains("Getting Started with Python on Slipway"), "\(page)")
        #expect(page.body.contains("secure=True"), "Django saw the request as HTTPS: \(page)")

        // Plain HTTP to the same name is sent to HTTPS by the router, before it reaches Django.
        var redirect = (status: "", body: "")
        #expect(
            waitUntil(seconds: 20) {
                redirect = Self.curl(["http://shop.test:\(http)/about?x=1"], port: http)
                return redirect.status == "308 https://shop.test:\(https)/about?x=1"
            }, "\(redirect)")

        // A name the CA cannot validate (it points elsewhere): `certs` says why, and plain HTTP still reaches the app
        // (Django's own redirect, not the router's 308).
        try pebble.point("elsewhere.test", at: "127.0.0.2")
        #expect(try h.ssh("domains:add myapp elsewhere.test").status == 0)
        var certs = ""
        #expect(
            waitUntil(seconds: 60) {
                certs = (try? h.ssh("certs myapp").output) ?? ""
                return certs.split(separator: "\n").contains {
                    $0.hasPrefix("elsewhere.test ") && $0.contains("failing") && $0.contains("points at this router")
                }
            }, "\(certs)")
        let plain = Self.curl(["http://elsewhere.test:\(http)/"], port: http, host: "elsewhere.test")
        #expect(plain.status == "301 https://elsewhere.test:\(http)/", "Django answered: \(plain)")
    }

    /// What `curl` got from the router for `host`: `<status> <redirect URL>`, and the body.
    static func curl(_ arguments: [String], port: UInt16, host: String = "shop.test") -> (status: String, body: String)
    {
        let result = try? runTool(
            [
                "/usr/bin/curl", "-s", "--max-time", "10", "--resolve", "\(host):\(port):127.0.0.1", "-w",
                "\n%{http_code} %{redirect_url}",
            ] + arguments, timeout: 20)
        var lines = (result?.stdout ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let status = lines.popLast() ?? ""
        return (status, lines.joined(separator: "\n"))
    }

    /// The shape of heroku/python-getting-started's settings that matters here, written for this test.
    static let gettingStarted: [String: String] = [
        "requirements.txt": "Django>=4.2,<5\ngunicorn==23.0.0\n",
        "Procfile": "web: gunicorn gettingstarted.wsgi --bind 0.0.0.0:$PORT\n",
        "gettingstarted/__init__.py": "",
        "gettingstarted/settings.py": """
        import os

        # As python-getting-started: on a dyno (DYNO is set), redirect to HTTPS and trust the router's header.
        IS_HEROKU_APP = "DYNO" in os.environ and "CI" not in os.environ
        SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-this-test")
        DEBUG = not IS_HEROKU_APP
        ALLOWED_HOSTS = ["*"]
        if IS_HEROKU_APP:
            SECURE_SSL_REDIRECT = True
            SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        INSTALLED_APPS = []
        MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
        ROOT_URLCONF = "gettingstarted.urls"
        WSGI_APPLICATION = "gettingstarted.wsgi.application"
        DATABASES = {}

        """,
        "gettingstarted/urls.py": """
        from django.http import HttpResponse
        from django.urls import path


        def index(request):
            return HttpResponse(
                f"Getting Started with Python on Slipway secure={request.is_secure()}\\n",
                content_type="text/plain")


        urlpatterns = [path("", index)]

        """,
        "gettingstarted/wsgi.py": """
        import os

        from django.core.wsgi import get_wsgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gettingstarted.settings")
        application = get_wsgi_application()

        """,
    ]
}
