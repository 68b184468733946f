"""Prints the "default" packages of a Pipfile.lock as pinned requirement lines for pip.

Usage: python3 pipfile-lock-requirements.py Pipfile.lock > requirements.txt
Only pinned versions are supported; a git or path dependency stops with a message saying which one.
"""

import json
import sys


def requirement_line(name, entry):
    if "version" not in entry:
        raise SystemExit(f"{name} is not pinned to a version (a git, path or file dependency)")
    extras = entry.get("extras") or []
    line = name + (f"[{','.join(extras)}]" if extras else "") + entry["version"]
    if entry.get("markers"):
        line += f"; {entry['markers']}"
    return line


def main():
    try:
        with open(sys.argv[1], encoding="utf-8") as lock_file:
            default = json.load(lock_file).get("default", {})
        lines = [requirement_line(name, entry) for name, entry in sorted(default.items())]
    except (OSError, ValueError, AttributeError, TypeError) as error:
        raise SystemExit(f"it is not a valid Pipfile.lock ({error})")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
