"""JSON schema of the key manager's request bodies (Barbican's ``Secret`` validator).

Barbican ignores properties it does not know, so the schema does too. What a schema cannot
say (a payload needs its content type, octet-stream needs base64, an expiration in the past)
is checked by ``keymanager.service`` with Barbican's messages.
"""
from __future__ import annotations

SECRET_TYPES = ("symmetric", "public", "private", "passphrase", "certificate", "opaque")

_NAME = {"type": ["string", "null"], "maxLength": 255}

SECRET_CREATE: dict = {
    "type": "object",
    "properties": {
        "name": _NAME,
        "algorithm": _NAME,
        "mode": _NAME,
        "bit_length": {"type": ["integer", "null"], "minimum": 1, "maximum": 2 ** 31 - 1},
        "expiration": {"type": ["string", "null"], "maxLength": 255},
        "payload": {"type": ["string", "null"]},
        "payload_content_type": {"type": ["string", "null"], "maxLength": 255},
        "payload_content_encoding": {"type": ["string", "null"], "maxLength": 255},
        "secret_type": {"type": "string", "enum": list(SECRET_TYPES)},
        "transport_key_id": {"type": ["string", "null"], "maxLength": 255},
    },
}
