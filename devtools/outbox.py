"""Prints the newest e-mails and SMS from the local dev outbox (var/outbox)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.outbox", description=__doc__)
    parser.add_argument("-n", type=int, default=3, help="how many, newest first (default 3)")
    parser.add_argument("--dir", default=os.environ.get("DEV_OUTBOX_DIR", "var/outbox"))
    args = parser.parse_args()
    files = sorted(Path(args.dir).glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not files:
        print(f"{args.dir} is empty: nothing has been sent yet")
    for path in files[: args.n]:
        print(f"==> {path}\n{path.read_text()}\n")


if __name__ == "__main__":
    main()
