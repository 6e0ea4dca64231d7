# SPDX-License-Identifier: MIT
"""Packaging of yourapplication; `python3 setup.py sdist` makes the tarball deployd ships."""
from pathlib import Path

from setuptools import find_packages, setup

VERSION = (Path(__file__).parent / "yourapplication" / "VERSION").read_text().strip()

setup(
    name="yourapplication",
    version=VERSION,
    description="The small WSGI application of Flask's \"Deploying with Fabric\" recipe",
    packages=find_packages(exclude=["tests"]),
    package_data={"yourapplication": ["VERSION"]},
    install_requires=["Flask"],
    python_requires=">=3.9",
)
