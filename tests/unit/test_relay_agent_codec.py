"""DHCP Relay Agent Information option (option 82, RFC 3046) and the sub-options of RFC 3527, 3993 and 5107 that
the MAG's relay agent adds (RFC 5844 3.4.2, 3.4.3): encoded as the RFCs lay them out, read back from a message
Scapy wrote, malformed values a DecodeError naming the sub-option and its offset in the message."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.dhcp import BOOTP, DHCP

from pmip6.wire.dhcp import BOOTREQUEST, DhcpMessage, MessageType, OptionCode, decode_dhcp
from pmip6.wire.errors import DecodeError
from pmip6.wire.relay_agent import RelayAgentInformation, SubOption, decode_relay_agent_information

HOME = IPv4Address("10.0.0.7")
ROUTER = IPv4Address("10.0.0.1")
INFORMATION = RelayAgentInformation.for_mobile_node("mag-a0", HOME, IPv4Network("10.0.0.0/24"),
                                                   b"mn1@opA.example", ROUTER)
_OPTION_82_AT = 240  # the first option of a message: after the 236 fixed octets and the magic cookie


def test_RFC3046_2_0_sub_options_as_code_length_value_in_the_order_of_RFC5844_3_4_2() -> None:
    assert INFORMATION.encode() == (b"\x01\x06mag-a0" + b"\x02\x04" + HOME.packed + b"\x05\x04\x0a\x00\x00\x00"
                                    + b"\x06\x0fmn1@opA.example" + b"\x0b\x04" + ROUTER.packed)


def test_the_sub_options_read_back_from_a_message_scapy_wrote() -> None:
    data = bytes(BOOTP(chaddr=b"\x02" * 6, xid=9, giaddr="192.0.2.1", hops=1) / DHCP(options=[
        ("message-type", "discover"), ("relay_agent_information", INFORMATION.encode()), "end"]))
    message = decode_dhcp(data)
    information = message.relay_agent_information
    assert information == INFORMATION
    assert information.sub_option(SubOption.SUBSCRIBER_ID) == b"mn1@opA.example"
    assert information.sub_option(SubOption.AGENT_CIRCUIT_ID) == b"mag-a0"
    assert information.address(SubOption.AGENT_REMOTE_ID) == HOME
    assert information.address(SubOption.LINK_SELECTION) == IPv4Address("10.0.0.0")
    assert information.address(SubOption.SERVER_IDENTIFIER_OVERRIDE) == ROUTER
    assert information.sub_option(9) is None and information.address(9) is None


def test_a_message_without_option_82_has_none() -> None:
    assert DhcpMessage(BOOTREQUEST, 1, b"\x02" * 6).relay_agent_information is None


def test_an_unknown_sub_option_passes_as_it_is() -> None:
    value = b"\x09\x03abc" + b"\x02\x01z"
    information = decode_relay_agent_information(value)
    assert information.sub_options == ((9, b"abc"), (2, b"z"))
    assert information.encode() == value
    assert information.address(SubOption.AGENT_REMOTE_ID) is None  # not 4 octets: no address


@pytest.mark.parametrize(("value", "field", "at"), [
    (b"", "relay agent information", 0),
    (b"\x01", "relay agent sub-option length", 0),
    (b"\x01\x05abc", "relay agent sub-option length", 0),
    (b"\x01\x01a\x02", "relay agent sub-option length", 3),
    (b"\x02\x00", "relay agent sub-option length", 0),
    (b"\x05\x03abc", "link selection", 0),
    (b"\x01\x01a\x0b\x05abcde", "server identifier override", 3),
])
def test_malformed_values_name_the_sub_option_and_its_offset_in_the_message(value: bytes, field: str,
                                                                           at: int) -> None:
    data = bytes(BOOTP(chaddr=b"\x02" * 6) / DHCP(options=[("relay_agent_information", value), "end"]))
    with pytest.raises(DecodeError) as caught:
        decode_dhcp(data)
    assert (caught.value.field, caught.value.offset) == (field, _OPTION_82_AT + 2 + at)


@given(st.binary(max_size=40))
def test_arbitrary_values_decode_or_raise_decode_error_and_decoded_ones_encode_back(value: bytes) -> None:
    try:
        information = decode_relay_agent_information(value)
    except DecodeError:
        return
    assert information.encode() == value


def test_encode_refuses_what_does_not_fit() -> None:
    for sub_options in (((1, b""),), ((1, b"x" * 256),), ((1, b"x" * 200), (2, b"y" * 100)), ()):
        with pytest.raises(ValueError):
            RelayAgentInformation(sub_options).encode()


def test_the_relay_adds_it_as_the_message_s_last_option_RFC3046_2_1() -> None:
    request = DhcpMessage(BOOTREQUEST, 1, b"\x02" * 6, options=(
        (OptionCode.MESSAGE_TYPE, bytes([MessageType.DISCOVER])),
        (OptionCode.RELAY_AGENT_INFORMATION, INFORMATION.encode())))
    data = request.encode()
    assert data[_OPTION_82_AT + 3] == OptionCode.RELAY_AGENT_INFORMATION
    assert data[_OPTION_82_AT + 5 + len(INFORMATION.encode())] == OptionCode.END
    assert decode_dhcp(data).relay_agent_information == INFORMATION
