"""BOOTP/DHCP codec (RFC 2131 2, RFC 2132), checked against Scapy's independent encoder and decoder
(``scapy.layers.dhcp``); malformed input is a DecodeError naming the field, nothing else."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dhcp import BOOTP, DHCP

from pmip6.wire.dhcp import (
    BOOTREPLY,
    BOOTREQUEST,
    BROADCAST_FLAG,
    MINIMUM_LENGTH,
    DhcpMessage,
    MessageType,
    OptionCode,
    decode_dhcp,
)
from pmip6.wire.errors import DecodeError

MAC = bytes.fromhex("020000000001")
HOME = IPv4Address("10.0.0.2")
ROUTER = IPv4Address("10.0.0.1")
OFFER = DhcpMessage(BOOTREPLY, 0x12345678, MAC, flags=BROADCAST_FLAG, yiaddr=HOME, options=(
    (OptionCode.MESSAGE_TYPE, bytes([MessageType.OFFER])), (OptionCode.SERVER_IDENTIFIER, ROUTER.packed),
    (OptionCode.LEASE_TIME, (3600).to_bytes(4, "big")), (OptionCode.RENEWAL_TIME, (1800).to_bytes(4, "big")),
    (OptionCode.REBINDING_TIME, (3150).to_bytes(4, "big")), (OptionCode.SUBNET_MASK, bytes([255, 255, 255, 0])),
    (OptionCode.ROUTER, ROUTER.packed), (OptionCode.INTERFACE_MTU, (1452).to_bytes(2, "big"))))


def _request(*options: str | tuple[str | int, object], ciaddr: str = "0.0.0.0", secs: int = 0, flags: int = 0) -> bytes:
    """A DHCP request as Scapy writes it, with ``options`` as Scapy names them ("pad", (name, value)) or numbers them
    ((code, octets))."""
    return bytes(BOOTP(chaddr=MAC, xid=7, ciaddr=ciaddr, secs=secs, flags=flags) / DHCP(options=[*options, "end"]))


def test_RFC2131_2_scapy_reads_the_offer_we_meant() -> None:
    message = OFFER.encode()
    packet = BOOTP(message)
    assert len(message) == MINIMUM_LENGTH
    assert (packet.op, packet.htype, packet.hlen, packet.xid, packet.flags) == (2, 1, 6, 0x12345678, 0x8000)
    assert (packet.yiaddr, packet.ciaddr, packet.giaddr, packet.chaddr[:6]) == ("10.0.0.2", "0.0.0.0", "0.0.0.0", MAC)
    options: dict[str, object] = dict(option for option in packet[DHCP].options if isinstance(option, tuple))
    assert options == {"message-type": 2, "server_id": "10.0.0.1", "lease_time": 3600, "renewal_time": 1800,
                       "rebinding_time": 3150, "subnet_mask": "255.255.255.0", "router": "10.0.0.1",
                       "interface-mtu": 1452}
    assert packet[DHCP].options[len(options)] == "end"


def test_RFC2131_2_we_read_the_request_scapy_wrote() -> None:
    data = _request(("message-type", "request"), ("requested_addr", "10.0.0.2"), ("server_id", "10.0.0.1"),
                    ("client_id", b"\x01" + MAC), ("param_req_list", [1, 3, 51]), ciaddr="0.0.0.0", secs=3,
                    flags=0x8000)
    message = decode_dhcp(data)
    assert (message.op, message.xid, message.chaddr, message.secs, message.flags) == (BOOTREQUEST, 7, MAC, 3, 0x8000)
    assert message.message_type is MessageType.REQUEST
    assert message.address(OptionCode.REQUESTED_ADDRESS) == HOME
    assert message.address(OptionCode.SERVER_IDENTIFIER) == ROUTER
    assert message.option(OptionCode.CLIENT_IDENTIFIER) == b"\x01" + MAC
    assert message.option(OptionCode.PARAMETER_REQUEST_LIST) == bytes([1, 3, 51])


def test_RFC2132_2_pad_is_skipped_and_a_repeated_option_concatenated_RFC3396() -> None:
    data = _request(("message-type", "discover"), "pad", "pad", (OptionCode.PARAMETER_REQUEST_LIST, b"\x01"),
                    (OptionCode.PARAMETER_REQUEST_LIST, b"\x03"))
    assert decode_dhcp(data).options == ((OptionCode.MESSAGE_TYPE, b"\x01"),
                                         (OptionCode.PARAMETER_REQUEST_LIST, b"\x01\x03"))


def test_a_long_option_is_split_into_255_octet_pieces_scapy_reads() -> None:
    long = DhcpMessage(BOOTREQUEST, 1, MAC, options=((OptionCode.MESSAGE, b"x" * 300),))
    assert decode_dhcp(long.encode()) == long
    pieces = [option for option in BOOTP(long.encode())[DHCP].options if isinstance(option, tuple)]
    assert [len(value) for _, value in pieces] == [255, 45]


@given(st.builds(DhcpMessage, st.sampled_from([BOOTREQUEST, BOOTREPLY]), st.integers(0, 2 ** 32 - 1),
                 st.binary(max_size=16), st.integers(0, 255), st.integers(0, 255), st.integers(0, 65535),
                 st.integers(0, 65535), *[st.builds(IPv4Address, st.integers(0, 2 ** 32 - 1))] * 4,
                 st.binary(max_size=64).map(lambda b: b.rstrip(b"\0")),
                 st.binary(max_size=128).map(lambda b: b.rstrip(b"\0")),
                 st.dictionaries(st.integers(1, 254).filter(lambda code: code not in (50, 52, 53, 54, 61, 82)),
                                 st.binary(max_size=300)).map(lambda options: tuple(options.items()))))
@settings(max_examples=200, deadline=None)
def test_round_trip_and_scapy_agrees_on_the_fixed_fields(message: DhcpMessage) -> None:
    data = message.encode()
    assert decode_dhcp(data) == message
    packet = BOOTP(data)
    assert (packet.op, packet.xid, packet.hops, packet.secs, packet.flags) == (
        message.op, message.xid, message.hops, message.secs, message.flags)
    assert (packet.ciaddr, packet.yiaddr, packet.siaddr, packet.giaddr) == tuple(
        str(address) for address in (message.ciaddr, message.yiaddr, message.siaddr, message.giaddr))
    assert (packet.hlen, packet.chaddr[:packet.hlen]) == (len(message.chaddr), message.chaddr)


@pytest.mark.parametrize(("data", "field", "offset"), [
    (OFFER.encode()[:239], "BOOTP length", 0),
    (bytes([3]) + OFFER.encode()[1:], "op", 0),
    (OFFER.encode()[:2] + bytes([17]) + OFFER.encode()[3:], "hlen", 2),
    (OFFER.encode()[:236] + b"\x63\x82\x53\x00" + OFFER.encode()[240:], "magic cookie", 236),
    (OFFER.encode()[:240], "options", 240),
    (OFFER.encode()[:240] + bytes([53]), "option length", 240),
    (OFFER.encode()[:240] + bytes([53, 9, 1]), "option length", 241),
    (OFFER.encode()[:240] + bytes([53, 1, 1]), "options", 243),
    (OFFER.encode()[:240] + bytes([53, 1, 9, 255]), "DHCP message type", 240),
    (OFFER.encode()[:240] + bytes([53, 2, 1, 1, 255]), "DHCP message type", 240),
    (OFFER.encode()[:240] + bytes([0, 50, 3, 10, 0, 0, 255]), "requested address", 241),
    (OFFER.encode()[:240] + bytes([54, 5, 10, 0, 0, 1, 0, 255]), "server identifier", 240),
    (OFFER.encode()[:240] + bytes([61, 1, 1, 255]), "client identifier", 240),
    (OFFER.encode()[:240] + bytes([52, 1, 3, 255]), "option overload", 240),
])
def test_malformed_messages_raise_decode_error_naming_field_and_offset(data: bytes, field: str, offset: int) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_dhcp(data)
    assert (raised.value.field, raised.value.offset) == (field, offset)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_decode_error(head: bytes, options: bytes) -> None:
    """Like the other decoders: random bytes, and random options behind a valid header, are a DecodeError or a
    message that encodes again."""
    for data in (head, OFFER.encode()[:240] + options):
        try:
            message = decode_dhcp(data)
        except DecodeError:
            continue
        assert decode_dhcp(message.encode()) == message


def test_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="chaddr"):
        DhcpMessage(BOOTREQUEST, 1, bytes(17)).encode()
    with pytest.raises(ValueError, match="option code 255"):
        DhcpMessage(BOOTREQUEST, 1, MAC, options=((255, b""),)).encode()
