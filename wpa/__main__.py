"""`python -m wpa ...`: see wpa/cli.py (installed, the same is the `wpa` command)."""

from wpa.cli import main

raise SystemExit(main(prog="python -m wpa"))
