"""Conformance: OpenStack's Tempest run against a throw-away minicloud (``make tempest``).

Run ``.venv/bin/python conformance/run.py --help``; see docs/conformance.md. The modules:
``run`` (the entry point) and ``main`` (the steps), ``features`` (what minicloud offers, one
table), ``cloud`` (the throw-away cloud), ``tempestconf`` (tempest.conf from the cloud and the
table), ``selection`` (the test sets), ``workspace`` (the Tempest processes), ``results`` (what
a run did, per test), ``report`` (counts, printing, JSON), ``leaks`` (what Tempest left
behind), ``sweep`` (host-wide leftovers after ``down``). ``subunit_json`` runs in Tempest's
own venv; ``test_harness`` holds the unit tests (``.venv/bin/pytest conformance``).
"""
