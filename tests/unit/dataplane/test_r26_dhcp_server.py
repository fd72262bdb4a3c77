"""Review 26: the DHCP server's per-interface rate limit (RFC 5844 3.4.1 server mode; docs/dataplane.md "DHCP")."""

from __future__ import annotations

from test_dhcp_server import DISCOVER, NOW, Mag, _entry

from pmip6.core.events import BindingUpdated
from pmip6.dataplane.dhcp_server import REPLY_BURST


def test_r26_a_refresh_of_the_links_one_session_does_not_refill_its_request_bucket() -> None:
    """A BindingUpdated (a refresh every few minutes, a re-attach) takes the previous session out and puts the new
    one in: with the interface's only session, the link itself went and came back, and with it a full token bucket,
    so a flooding client got another REPLY_BURST answers at once at each refresh."""
    mag = Mag()
    entry = mag.register(_entry())
    replies = [mag.ask(DISCOVER) for _ in range(REPLY_BURST)]
    assert all(reply is not None for reply in replies)
    assert mag.ask(DISCOVER) is None
    mag.server.apply(BindingUpdated(entry.session(), entry.session()))
    assert mag.ask(DISCOVER, now=NOW) is None, "the refresh refilled the interface's bucket"
    assert mag.server.unanswered == {"rate_limited": 2}
