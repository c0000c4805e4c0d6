#!/usr/bin/env python3
"""Prints the table of documentation cases standin answers differently (from the
`differs` notes in compat/cases/*.json), for docs/mockserver.md."""
import glob
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
rows = {}
for f in sorted(glob.glob(os.path.join(here, "cases", "*.json"))):
    for c in json.load(open(f))["cases"]:
        if c.get("differs"):
            rows.setdefault(c["differs"], []).append((os.path.basename(f), c["name"]))
print("| how standin differs, and why | cases |")
print("|---|---|")
for reason, cases in rows.items():
    print(f"| {reason} | " + "; ".join(f"{n} (`{f}`)" for f, n in cases) + " |")
