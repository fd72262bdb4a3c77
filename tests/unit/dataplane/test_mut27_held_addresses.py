"""Mutation campaign mut27 on the addresses an access interface holds (dataplane/routing.py ``hold_addresses``,
``restore_addresses``, ``release_addresses``; RFC 5844 3.2.3.2, RFC 5213 6.9.1.2 item 15), read back from the kernel
in a namespace of its own (the ``ipr`` fixture of test_dataplane_mutants_routing.py; docs/mutation-survivors.md).

- The operator's router address with a prefix of its own (10.1.0.1/24) is held as it is: no /32 beside it.
- An address tagged ``proto 213`` that a killed run left is taken over: released with the session.
- The release skips an address already gone (flushed by hand).
- The restore tries every interface: one that is gone or fails leaves the others restored, and the first failure
  is the one raised.
"""

from __future__ import annotations

import socket

import pytest
from pyroute2 import NetNS

from pmip6.dataplane.routing import RTPROT_PMIP6, HeldAddresses, hold_addresses, release_addresses, restore_addresses
from test_dataplane_mutants_routing import ipr, pytestmark  # noqa: F401 (fixture, marks)


def _ipv4(ipr: NetNS, interface: str) -> list[tuple[str, int]]:
    index = ipr.link_lookup(ifname=interface)[0]
    return sorted((message.get_attr("IFA_LOCAL"), message["prefixlen"])
                  for message in ipr.get_addr(family=socket.AF_INET, index=index))


def test_RFC5844_3_2_3_2_the_operator_s_router_address_with_its_own_prefix_is_held_as_it_is(ipr: NetNS) -> None:
    tuna = ipr.link_lookup(ifname="tuna")[0]
    ipr.addr("add", index=tuna, address="10.1.0.1", prefixlen=24)
    state = HeldAddresses()
    hold_addresses(ipr, "tuna", ["10.1.0.1"], state)
    assert state.added == set() and _ipv4(ipr, "tuna") == [("10.1.0.1", 24)]


def test_an_address_a_killed_run_left_is_taken_over_and_released(ipr: NetNS) -> None:
    tuna = ipr.link_lookup(ifname="tuna")[0]
    ipr.addr("add", index=tuna, address="10.1.0.9", prefixlen=32, IFA_PROTO=RTPROT_PMIP6)
    state = HeldAddresses()
    hold_addresses(ipr, "tuna", ["10.1.0.1"], state)
    assert state.added == {"10.1.0.1", "10.1.0.9"}
    release_addresses(ipr, "tuna", state)
    assert _ipv4(ipr, "tuna") == []


def test_the_release_skips_an_address_already_gone(ipr: NetNS) -> None:
    state = HeldAddresses()
    hold_addresses(ipr, "tuna", ["10.1.0.1", "fe80::4c1:2ff:fe03:405"], state)
    ipr.flush_addr(index=ipr.link_lookup(ifname="tuna")[0])
    release_addresses(ipr, "tuna", state)
    assert _ipv4(ipr, "tuna") == []


def test_the_restore_tries_every_interface_and_raises_the_first_failure(ipr: NetNS) -> None:
    held, kept = HeldAddresses(), HeldAddresses()
    hold_addresses(ipr, "tuna", ["10.1.0.1"], held)
    ipr.flush_addr(index=ipr.link_lookup(ifname="tuna")[0])
    restore_addresses(ipr, {"gone0": (["10.1.0.2"], HeldAddresses()), "tuna": (["10.1.0.1"], held)})
    assert _ipv4(ipr, "tuna") == [("10.1.0.1", 32)], "an interface that is gone is skipped, not the end"
    ipr.flush_addr(index=ipr.link_lookup(ifname="tuna")[0])
    with pytest.raises(OSError, match="on upa"):  # a multicast address: the kernel refuses it
        restore_addresses(ipr, {"upa": (["ff02::1"], kept), "tuna": (["10.1.0.1", "ff02::2"], held)})
    assert _ipv4(ipr, "tuna") == [("10.1.0.1", 32)]
