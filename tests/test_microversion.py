"""Microversion negotiation shared by the compute and volume APIs."""
from __future__ import annotations

import pytest

from compute.microversion import negotiate as compute
from minicloud.microversion import NotAcceptable, Version
from volumes.microversion import negotiate as volume


@pytest.mark.parametrize("headers, expected", [
    ({}, Version(2, 1)),
    ({"OpenStack-API-Version": "compute 2.61"}, Version(2, 61)),
    ({"X-OpenStack-Nova-API-Version": "2.45"}, Version(2, 45)),
    ({"OpenStack-API-Version": "compute latest"}, Version(2, 96)),
    ({"OpenStack-API-Version": "volume 3.5, compute 2.89"}, Version(2, 89)),
])
def test_compute_versions(headers, expected):
    assert compute(headers) == expected


@pytest.mark.parametrize("headers, expected", [
    ({}, Version(3, 0)),
    ({"OpenStack-API-Version": "volume 3.70"}, Version(3, 70)),
    ({"OpenStack-API-Version": "block-storage 3.27"}, Version(3, 27)),
    ({"X-OpenStack-Nova-API-Version": "2.45"}, Version(3, 0)),  # not a volume header
])
def test_volume_versions(headers, expected):
    assert volume(headers) == expected


@pytest.mark.parametrize("negotiate, value, message", [
    (compute, "compute 2.97", "Minimum is 2.1 and maximum is 2.96"),
    (compute, "compute two", "Invalid microversion"),
    (volume, "volume 3.71", "Minimum is 3.0 and maximum is 3.70"),
])
def test_out_of_range_is_406(negotiate, value, message):
    with pytest.raises(NotAcceptable, match=message) as exc:
        negotiate({"OpenStack-API-Version": value})
    assert exc.value.status == 406


def test_at_least():
    assert Version(2, 47).at_least(47) and not Version(2, 46).at_least(47)
