"""Identity service: a Keystone v3 subset (projects, users, roles, Fernet tokens, catalog)."""
