# SPDX-License-Identifier: MIT
"""A bad change to try the canary: the version page reads a config key that does not exist."""
from flask import jsonify

from . import app
from .version import __version__


@app.route("/")
def index():
    return f"{app.config['GREETING']} (yourapplication {__version__} on {app.config['SERVER_LABEL']})\n"


@app.route("/version")
def version():
    return app.config["VERSION"] + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/health")
def health():
    return jsonify(status="ok", version=__version__, server=app.config["SERVER_LABEL"])
