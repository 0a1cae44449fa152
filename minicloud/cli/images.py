"""Image commands (being written)."""
COMMANDS: tuple = ()
