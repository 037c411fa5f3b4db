"""The server's worker processes: one pool (`pool`) of plain child processes running `python -m
wpa.worker`, one protocol (`protocol`), one CPU budget (`budget`) shared by every kind of work, and
the CPU priority of the server's work (`priority`)."""
