"""Mutation campaign mut27 on the MAG's link-local address from the LMA (RFC 5213 6.8, 6.9.1.1 item 9, 6.9.1.2
item 15; core/mag.py ``_apply_addresses`` and ``_expired``), against a stub LMA (docs/mutation-survivors.md).

- An accepting PBA whose Link-local Address option is ALL_ZERO leaves the entry's address as it was: the MN's
  default router on the link does not change during the session (core/mag.py's module docstring).
- A binding found expired before its refresh went out is registered again in a new entry that keeps the address:
  the MN is still on the link, its default router the same.
"""

from __future__ import annotations

from test_mag_link_local_address import ALL_ZERO, FROM_LMA, _link_local
from test_mag_stub_lma import T0, entry_of, make_mag, only_pbu, pba_for, registered

from pmip6.wire.options import LinkLocalAddressOption


def test_RFC5213_6_9_1_2_item_15_an_all_zero_answer_leaves_the_address_the_lma_gave() -> None:
    mag = make_mag()
    registered(mag, extra=(LinkLocalAddressOption(FROM_LMA),))
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 1))
    mag.receive(pba_for(refresh, extra=(LinkLocalAddressOption(ALL_ZERO),)), mag.settings.lma, T0 + 1.01)
    assert entry_of(mag).link_local_address == FROM_LMA
    assert _link_local(only_pbu(mag.refresh(b"mn1@example.org", T0 + 2))) == FROM_LMA


def test_RFC5213_6_8_a_binding_registered_again_after_a_missed_refresh_keeps_its_link_local_address() -> None:
    mag = make_mag()
    registered(mag, extra=(LinkLocalAddressOption(FROM_LMA),))
    mag.handle_timer(T0 + 7200)  # refresh time and expiry both passed (test_mag_missed_refresh.py)
    pbu = only_pbu(mag.handle_timer(T0 + 7200))  # the registration again, at the timer the expiry made due
    assert _link_local(pbu) == FROM_LMA and entry_of(mag).link_local_address == FROM_LMA
