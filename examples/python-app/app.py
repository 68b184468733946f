"""A tiny WSGI app for Slipway: gunicorn serves `application` (see the Procfile)."""

import os


def application(environ, start_response):
    """Answers every request with a greeting, plus the GREETING config var when it is set."""
    lines = ["Hello from Slipway!"]
    greeting = os.environ.get("GREETING")
    if greeting:
        lines.append(greeting)
    body = ("\n".join(lines) + "\n").encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
