"""Runs without a server: python3 -m unittest discover tests (left out of the slug by .slugignore)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from app import application  # noqa: E402


class ApplicationTest(unittest.TestCase):
    def test_greets(self):
        statuses = []
        body = b"".join(application({}, lambda status, headers: statuses.append(status)))
        self.assertEqual(statuses, ["200 OK"])
        self.assertTrue(body.startswith(b"Hello from Slipway!"))


if __name__ == "__main__":
    unittest.main()
