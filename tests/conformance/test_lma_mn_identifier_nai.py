"""The LMA's per-mobile-node configuration (``[[mn]]``: tenant, GRE policy) names an MN by its NAI (RFC 4283 section 3):
an identifier whose ASCII realm differs only in case names the same mobile node (RFC 7542 section 3), its username
does not (2.4); the Binding Cache and the PBA keep the identifier's octets (RFC 5213 5.3.6). core/nai.py."""

from __future__ import annotations

import pytest
from lma_builders import GRE_REQUIRED_MN, LMAA, MAG1, MN3, NOW, make_lma, pbu, rejected_status, settings, the_pba

from pmip6.core.events import BindingEstablished, Outcome
from pmip6.core.lma import LmaSettings, MobileNodeProfile
from pmip6.core.nai import NaiMap, nai_key
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.numbers import Status
from pmip6.wire.options import MNIdentifierOption

MN3_UPPER_REALM = b"mn3@OPB.EXAMPLE"


def _tenant(outcome: Outcome) -> str | None:
    (event,) = outcome.events
    assert isinstance(event, BindingEstablished), outcome.events
    return event.session.tenant


def test_RFC7542_3_a_realm_differing_only_in_case_is_served_by_the_mn_profiles_tenant_not_the_default() -> None:
    """walk5b finding 8: mn3@OPB.EXAMPLE, [[mn]] mn3@opB.example in opB, default tenant opA: served by opA before."""
    lma = make_lma(default_tenant="opA")
    assert _tenant(lma.receive(pbu(MN3_UPPER_REALM), MAG1, LMAA, NOW)) == "opB"


def test_RFC7542_3_a_realm_differing_only_in_case_is_served_without_a_default_tenant() -> None:
    assert _tenant(make_lma().receive(pbu(b"mn3@Opb.Example"), MAG1, LMAA, NOW)) == "opB"


def test_RFC7542_3_the_per_mn_gre_policy_applies_to_a_realm_in_other_case() -> None:
    required = GRE_REQUIRED_MN.replace(b"@opA.example", b"@OPA.EXAMPLE")
    assert rejected_status(make_lma().receive(pbu(required), MAG1, LMAA, NOW)) == Status.GRE_KEY_OPTION_REQUIRED


@pytest.mark.parametrize("other", [b"MN3@opB.example", b"Mn3@opb.example"])
def test_RFC7542_2_4_the_username_is_compared_exactly(other: bytes) -> None:
    assert rejected_status(make_lma().receive(pbu(other), MAG1, LMAA, NOW)) == Status.NOT_LMA_FOR_THIS_MOBILE_NODE
    assert _tenant(make_lma(default_tenant="opA").receive(pbu(other), MAG1, LMAA, NOW)) == "opA"


def test_RFC7542_3_a_realm_that_is_not_all_ascii_is_compared_exactly() -> None:
    """"almost all 'case insensitive' comparisons can be wrong" outside ASCII: only the ASCII case is folded."""
    lma = make_lma(mobile_nodes=(MobileNodeProfile("mn@bücher.example".encode(), "opB"),))
    assert _tenant(lma.receive(pbu("mn@bücher.example".encode()), MAG1, LMAA, NOW)) == "opB"
    refused = lma.receive(pbu("mn@BÜCHER.example".encode()), MAG1, LMAA, NOW)
    assert rejected_status(refused) == Status.NOT_LMA_FOR_THIS_MOBILE_NODE
    refused = lma.receive(pbu("mn@Bücher.example".encode()), MAG1, LMAA, NOW)
    assert rejected_status(refused) == Status.NOT_LMA_FOR_THIS_MOBILE_NODE


def test_RFC5213_5_3_6_the_pba_echoes_the_identifier_as_received_and_the_binding_keeps_its_octets() -> None:
    lma = make_lma()
    pba = the_pba(lma.receive(pbu(MN3_UPPER_REALM), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED and pba.option(MNIdentifierOption) == MNIdentifierOption(MN3_UPPER_REALM)
    assert [entry.mn_id for entry in lma.bindings()] == [MN3_UPPER_REALM]
    assert lma.bindings_of(MN3) == []


def test_RFC7542_3_a_reload_keeps_a_binding_registered_under_a_realm_in_other_case() -> None:
    lma = make_lma(default_tenant="opA")
    lma.receive(pbu(MN3_UPPER_REALM), MAG1, LMAA, NOW)
    assert lma.reconfigure(settings(default_tenant="opA"), NOW + 1).events == []
    assert [entry.tenant for entry in lma.bindings_of(MN3_UPPER_REALM)] == ["opB"]


def test_RFC7542_3_two_profiles_naming_the_same_mobile_node_are_refused() -> None:
    with pytest.raises(ValueError, match="RFC 7542"):
        settings(mobile_nodes=(MobileNodeProfile(MN3, "opB"), MobileNodeProfile(MN3_UPPER_REALM, "opA")))
    with pytest.raises(ValueError, match="RFC 7542"):
        LmaGrePolicy(per_mn={MN3: GrePolicy.REQUIRED, MN3_UPPER_REALM: GrePolicy.NOT_REQUIRED})
    assert isinstance(settings(mobile_nodes=(MobileNodeProfile(MN3, "opB"),
                                             MobileNodeProfile(b"MN3@opB.example", "opA"))), LmaSettings)


@pytest.mark.parametrize(("identifier", "key"), [
    (b"mn3@OPB.EXAMPLE", b"mn3@opb.example"),
    (b"MN3@opb.example", b"MN3@opb.example"),  # the username as it is
    (b"a@b@C.example", b"a@b@c.example"),  # the realm follows the last "@"
    (b"NoRealm", b"NoRealm"),
    (b"@Realm.Example", b"@realm.example"),  # RFC 7542 2.2: a realm alone is an NAI
    ("u@Bücher.EXAMPLE".encode(), "u@Bücher.EXAMPLE".encode()),  # not all ASCII: as it is
    (b"u@\xffX", b"u@\xffX"),  # not UTF-8 either
    (b"", b""),
])
def test_RFC7542_3_nai_key_folds_only_an_ascii_realm(identifier: bytes, key: bytes) -> None:
    assert nai_key(identifier) == key


def test_nai_map_finds_a_value_by_any_identifier_naming_the_mobile_node() -> None:
    table = NaiMap([(b"mn@Op.Example", 1), (b"other@op.example", 2)])
    assert (table.get(b"mn@op.example"), table.get(b"mn@OP.EXAMPLE"), table.get(b"MN@op.example")) == (1, 1, None)
    assert NaiMap[int]().get(b"mn@op.example") is None
