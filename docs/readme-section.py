#!/usr/bin/env python3
"""Writes one '## ' section of README.md as a gi-docgen content page.

Usage: readme-section.py README.md HEADING TITLE SLUG > page.md

The section runs from the line '## HEADING' to the next '## ' line; its
headings move up one level, so that it starts with '# HEADING'.
"""
import sys


def main():
    readme, heading, title, slug = sys.argv[1:5]
    out = [f"Title: {title}", f"Slug: {slug}", ""]
    inside = False
    with open(readme, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                if inside:
                    break
                inside = line[3:].strip() == heading
            if inside:
                out.append(line[1:].rstrip("\n") if line.startswith("##") else line.rstrip("\n"))
    if not inside and len(out) == 3:
        sys.exit(f"readme-section.py: no section '## {heading}' in {readme}")
    sys.stdout.write("\n".join(out) + "\n")


main()
