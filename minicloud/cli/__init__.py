"""The ``minicloud`` command line, shaped like the ``openstack`` CLI."""
