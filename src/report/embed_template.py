#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Embeds an HTML template in C++ as a raw string: embed_template.py IN OUT NAME.

The template's one inline <script> (the one without a type) gets its sha256 put where the
template says @SCRIPT_HASH@, so that its Content-Security-Policy runs that script and no other.
"""
import base64
import hashlib
import re
import sys

DELIMITER = "deployd_template"


def main():
    source, target, name = sys.argv[1:4]
    with open(source, encoding="utf-8") as f:
        text = f.read()
    scripts = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    if len(scripts) != 1:
        sys.exit(f"{source}: expected one <script> without a type, found {len(scripts)}")
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    if "@SCRIPT_HASH@" not in text:
        sys.exit(f"{source}: no @SCRIPT_HASH@ for the script's hash")
    text = text.replace("@SCRIPT_HASH@", "sha256-" + digest)
    if f"){DELIMITER}\"" in text:
        sys.exit(f"{source}: holds the raw string's end, ){DELIMITER}\"")
    with open(target, "w", encoding="utf-8") as f:
        f.write(f"// Generated from {source.rsplit('/', 1)[-1]} by embed_template.py: do not edit.\n")
        f.write("namespace deployd::report {\n")
        f.write(f"extern const char* const {name};\n")
        f.write(f"const char* const {name} = R\"{DELIMITER}({text}){DELIMITER}\";\n")
        f.write("}  // namespace deployd::report\n")


if __name__ == "__main__":
    main()
