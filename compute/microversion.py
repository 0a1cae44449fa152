"""Compute API microversions: 2.1 to 2.96, from either header (see minicloud.microversion)."""
from __future__ import annotations

from minicloud.microversion import Microversions, NotAcceptable, Version, fmt

RANGE = Microversions(("compute",), (2, 1), (2, 96), "X-OpenStack-Nova-API-Version")
MIN_VERSION, MAX_VERSION = RANGE.min, RANGE.max
negotiate = RANGE.negotiate

__all__ = ["MAX_VERSION", "MIN_VERSION", "NotAcceptable", "Version", "fmt", "negotiate"]
