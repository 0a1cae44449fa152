"""``minicloud audit``: the catalog compared with the host, every difference shown.

Each check (:mod:`.core`) compares one kind of thing the cloud keeps on the host (libvirt
domains and secrets, instance directories, base images, volume files, iSCSI targets, image
files, staged uploads) or in the catalog (unfinished tasks, placement claims) and returns
its findings: an *orphan* (on the host, owned by nothing in the catalog), a *missing* piece
(owned by the catalog, absent on the host) or a *stale* task. Only orphans carry a fix.
:mod:`.checks_compute`, :mod:`.checks_storage` and :mod:`.checks_catalog` hold the checks,
:mod:`.build` assembles them for a cloud's configuration.
"""
