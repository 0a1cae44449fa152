"""The virt layer of the compute agent, modelled on Nova's libvirt driver.

- :mod:`compute.virt.config`: plain objects for a libvirt domain, each with ``to_xml()``;
  they render what they hold and decide nothing.
- :mod:`compute.virt.designer`: the decisions: flavor + image properties + disks -> a
  :class:`~compute.virt.config.DomainConfig`.
- :mod:`compute.virt.host`: ``Host``/``Guest``, the only code that imports libvirt; every
  libvirt error leaves it as a :class:`minicloud.errors.MinicloudError`.
"""
