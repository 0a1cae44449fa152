"""Compute service: a Nova v2.1 subset and the compute agent that runs real guests."""
