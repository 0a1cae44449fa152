"""``make tempest``: run OpenStack's Tempest against a throw-away minicloud and report.

Usage: ``.venv/bin/python conformance/run.py --set interop|identity|image|compute|volume|all
[--regex R] [--concurrency N] [--keep]``. Steps: bring a cloud up in a temporary directory
(real guests, real iSCSI), write tempest.conf from it, select the set's tests, snapshot what
the admin sees, run Tempest, read its results, check for leaks, print the report and write
``conformance/last-<set>.json``; then bring the cloud down and remove it (also on an error
or Ctrl-C) unless ``--keep``.

Exit code: 0 when every selected test passed or was skipped and nothing leaked; 1 otherwise
(2 for bad arguments, 130 when interrupted).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script: put the repository first on the path, so `conformance` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from conformance.main import main

    sys.exit(main())
