"""The "drop" fault: the sandbox does what was asked, then the connection closes in the middle of the answer."""

from __future__ import annotations

import httpx
import pytest

from .helpers import api


def test_a_dropped_connection_does_the_operation_and_cuts_the_answer(sandbox):
    sandbox.set_faults({"createFeedDocument": {"drop": 1.0}})
    with api(sandbox) as client, pytest.raises(httpx.TransportError):
        client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml; charset=UTF-8"})
    (recorded,) = sandbox.requests(operation="createFeedDocument")
    assert recorded["status"] == 201 and recorded["fault"] == "drop"  # done on the sandbox's side
    sandbox.set_faults()
    with api(sandbox) as client:
        assert client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).status_code == 201


def test_drop_is_a_known_fault_kind(sandbox):
    sandbox.set_faults({"*": {"drop": 0.5, "500": 0.5}})
    with pytest.raises(Exception, match="unknown fault"):
        sandbox.set_faults({"*": {"dropped": 1.0}})
