"""`python -m wpa ...`: see wpa/cli.py."""

from wpa.cli import main

raise SystemExit(main())
