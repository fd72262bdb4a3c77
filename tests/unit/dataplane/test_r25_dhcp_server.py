"""Review 25: the MAG's DHCP server (RFC 5844 3.4.1, RFC 2131 4.3.2, 4.4.5) on cases its own tests leave out: the
renewal RFC 5844 3.4.1 describes (``ciaddr`` and a Requested IP Address), the renewals of one binding lifetime
against the MAG's re-registration (docs/dataplane.md, "DHCP (RFC 5844 3.4.1)"), and a lease of 1 s."""

from __future__ import annotations

from dataclasses import replace

from test_dhcp_server import HOME1, NOW, ROUTER, Mag, _entry, _seconds

from pmip6.core.mag_settings import MagSettings
from pmip6.wire.dhcp import MessageType, OptionCode


def test_r25_a_renewal_with_ciaddr_and_the_requested_address_as_rfc5844_3_4_1_words_it_is_acknowledged() -> None:
    """3.4.1: in RENEWING the MN "unicasts the DHCPREQUEST message including the assigned IPv4 home address in the
    'Requested IP Address' option" (RFC 2131 puts it in ``ciaddr`` only): a DHCPACK, unicast to ``ciaddr``."""
    mag = Mag()
    mag.register(_entry())
    reply = mag.ask(("message-type", "request"), ("requested_addr", str(HOME1)), ciaddr=str(HOME1))
    assert reply is not None and reply.message.message_type is MessageType.ACK
    assert (reply.destination, reply.message.ciaddr, reply.message.yiaddr) == (HOME1, HOME1, HOME1)


def test_r25_renewals_in_one_binding_lifetime_with_the_default_refresh_margin() -> None:
    """docs/dataplane.md: the lease is the binding lifetime left; with refresh_margin 0.2 the MN's T1 comes before
    the MAG's re-registration, so the MN renews at 0.5 and 0.75 of the lifetime with ever shorter leases, and the
    third renewal, after the re-registration, gets the new lifetime."""
    lifetime = 3600
    margin = MagSettings.__dataclass_fields__["refresh_margin"].default
    assert isinstance(margin, float)
    mag = Mag()
    entry = mag.register(replace(_entry(), granted_lifetime=lifetime, expires_at=NOW + lifetime))
    refresh_at = NOW + lifetime * (1 - margin)
    now, renewals = NOW, []
    reply = mag.ask(("message-type", "discover"), now=now)
    while now < NOW + lifetime:
        assert reply is not None
        now += _seconds(reply, OptionCode.RENEWAL_TIME)
        if entry.expires_at is not None and now >= refresh_at and entry.expires_at == NOW + lifetime:
            entry.expires_at = refresh_at + lifetime  # the re-registration's PBA (core/mag.py _accepted)
        reply = mag.ask(("message-type", "request"), ciaddr=str(HOME1), now=now)
        renewals.append((now - NOW, _seconds(reply, OptionCode.LEASE_TIME) if reply else None))
        if now > refresh_at:
            break
    assert renewals == [(1800, 1800), (2700, 900), (3150, lifetime * 2 - 3150 - int(lifetime * margin))]


def test_r25_a_lease_of_one_second_has_t1_and_t2_at_zero() -> None:
    """A binding about to expire: the lease is its 1 s floor, and T1 and T2 round down to 0 (RFC 2131 4.4.5 gives
    only their defaults; a client takes 0 as "renew now")."""
    mag = Mag()
    mag.register(replace(_entry(), expires_at=NOW + 0.5))
    reply = mag.ask(("message-type", "discover"))
    assert reply is not None and reply.message.message_type is MessageType.OFFER
    assert [_seconds(reply, code) for code in (OptionCode.LEASE_TIME, OptionCode.RENEWAL_TIME,
                                               OptionCode.REBINDING_TIME)] == [1, 0, 0]
    assert dict(reply.message.options)[OptionCode.SERVER_IDENTIFIER] == ROUTER.packed
