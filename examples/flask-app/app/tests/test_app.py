# SPDX-License-Identifier: MIT
"""yourapplication's own test suite; `test` runs it on every server before a release goes live."""
import os
import re
import unittest
from pathlib import Path

os.environ["YOURAPPLICATION_CONFIG"] = str(Path(__file__).with_name("test.cfg"))

from yourapplication import __version__, app  # noqa: E402


class YourApplicationTest(unittest.TestCase):
    def setUp(self):
        self.client = app.test_client()

    def test_config_file_named_by_envvar_overrides_the_defaults(self):
        self.assertEqual(app.config["SERVER_LABEL"], "test server")
        self.assertFalse(app.config["DEBUG"])  # from default_config.py

    def test_index_greets_with_the_configured_greeting_and_version(self):
        answer = self.client.get("/")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer.get_data(as_text=True),
                         f"Hello from the tests (yourapplication {__version__} on test server)\n")

    def test_version_page_answers_the_package_version(self):
        answer = self.client.get("/version")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer.get_data(as_text=True), __version__ + "\n")

    def test_version_is_a_release_number(self):
        self.assertRegex(__version__, re.compile(r"^\d+(\.\d+)*$"))

    def test_health_reports_ok_with_version(self):
        self.assertEqual(self.client.get("/health").get_json(),
                         {"status": "ok", "version": __version__, "server": "test server"})

    def test_unknown_page_is_not_found(self):
        self.assertEqual(self.client.get("/nope").status_code, 404)


if __name__ == "__main__":
    unittest.main()
