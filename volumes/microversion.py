"""Volume API microversions: 3.0 to 3.70 (see minicloud.microversion). Attachments need 3.27,
``os-complete`` 3.44, an attachment's ``mode`` 3.54, as in Cinder."""
from __future__ import annotations

from minicloud.microversion import Microversions, NotAcceptable, Version, fmt

RANGE = Microversions(("volume", "block-storage"), (3, 0), (3, 70))
MIN_VERSION, MAX_VERSION = RANGE.min, RANGE.max
negotiate = RANGE.negotiate
ATTACHMENTS = 27
ATTACHMENT_COMPLETE = 44
ATTACHMENT_MODE = 54

__all__ = ["ATTACHMENTS", "ATTACHMENT_COMPLETE", "ATTACHMENT_MODE", "MAX_VERSION", "MIN_VERSION",
           "NotAcceptable", "Version", "fmt", "negotiate"]
