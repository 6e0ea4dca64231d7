# SPDX-License-Identifier: MIT
"""yourapplication: the Flask app of the "Deploying with Fabric" recipe.

Configuration comes from default_config.py, then from the file named by the
YOURAPPLICATION_CONFIG environment variable (the server's application.cfg), as the recipe advises:
per-server settings live outside the code.
"""
from flask import Flask

from .version import __version__

app = Flask(__name__)
app.config.from_object("yourapplication.default_config")
app.config.from_envvar("YOURAPPLICATION_CONFIG")

from . import views  # noqa: E402,F401  (registers the routes on app)
