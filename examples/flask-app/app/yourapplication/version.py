# SPDX-License-Identifier: MIT
"""The release number, kept in the VERSION file that setup.py also reads."""
from pathlib import Path

__version__ = (Path(__file__).parent / "VERSION").read_text().strip()
