"""minicloud: a mini-cloud that reproduces the OpenStack instance lifecycle on one machine."""
__version__ = "0.1.0"
