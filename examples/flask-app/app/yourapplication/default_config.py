# SPDX-License-Identifier: MIT
"""Defaults; a server's application.cfg overrides any of them."""
DEBUG = False
SERVER_LABEL = "unnamed server"
GREETING = "Hello from yourapplication"
