"""``python -m casework.crypto init PATH``: create a keyring without building the app.

Production refuses to start without a keyring, so the first one is made here (the Flask CLI's
``keys init`` needs a running configuration).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casework.crypto.keyring import Keyring


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casework.crypto")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create a new keyring file (refuses to overwrite)")
    init.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.path.exists():
        print(f"{args.path} exists; refusing to overwrite a keyring", file=sys.stderr)
        return 1
    Keyring.generate().save(args.path)
    print(f"keyring written to {args.path} (mode 600). Back it up apart from the database.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
