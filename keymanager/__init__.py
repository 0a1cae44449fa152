"""The key manager: Barbican's v1 secrets API (certificates for signed images)."""
