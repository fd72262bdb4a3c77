"""What the pump answers a refused packet with, without root: a datagram socketpair stands in for the TUN
device (one datagram is one packet, read with os.read and answered with os.write on the same descriptor)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from scapy.layers.inet import ICMP, IP, UDP

from dataplane_sessions import SERVER, SHARED_HOME, session
from pmip6.core.events import BindingEstablished
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.icmp_source import IcmpSources
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings


@pytest.fixture
def pump() -> Iterator[LmaPump]:
    pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("opA", "tena", 100),
                                                 TenantSettings("opB", "tenb", 102))))
    pump.lma.apply(BindingEstablished(session(b"mn1")))
    pump.lma.apply(BindingEstablished(session(b"mn3", tenant="opB", downlink_key=0x3333, uplink_key=0x4444)))
    for tenant in ("opA", "opB"):
        pump._icmp_sources[tenant] = IcmpSources(ipv4=socket.inet_aton("10.0.0.254"))
    yield pump
    pump._netlink_thread.shutdown()


def exchange(pump: LmaPump, *packets: bytes, tenant: str = "opA") -> list[bytes]:
    """Hand ``packets`` to the pump as ``tenant``'s TUN device would; what it wrote back."""
    tun, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with tun, kernel:
        tun.setblocking(False)
        kernel.setblocking(False)
        for packet in packets:
            kernel.send(packet)
        pump._on_local(tenant, tun.fileno())
        answers = []
        while True:
            try:
                answers.append(kernel.recv(65535))
            except BlockingIOError:
                return answers


def test_RFC4443_2_4_f_RFC1812_4_3_2_8_only_an_error_that_is_sent_spends_a_token(pump: LmaPump) -> None:
    """The limit is on the errors a node originates: a refused ICMP error message (which no error may answer,
    RFC 1812 4.3.2.7) spends no token, so with a burst of one the next packet still hears its error."""
    pump.icmp_rate_limit = TokenBucket(rate=0.0, burst=1)
    icmp_error = IP(src=SERVER, dst=SHARED_HOME, flags="DF") / ICMP(type=3, code=3) / bytes(1500)
    too_big = IP(src=SERVER, dst=SHARED_HOME, flags="DF") / UDP(sport=7, dport=4000) / bytes(1500)
    answers = exchange(pump, bytes(icmp_error), bytes(too_big), bytes(too_big))
    assert pump.lma.totals().drops == {"too_big": 3}
    assert {str(outcome): count for outcome, count in pump.icmp_errors.items() if count} == {
        "not_allowed": 1, "sent": 1, "rate_limited": 1}
    assert [(answer[20], answer[21]) for answer in answers] == [(3, 4)]  # Fragmentation Needed


def test_RFC4443_2_4_f_no_error_is_built_while_the_bucket_is_empty(pump: LmaPump,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of refused packets costs no error messages once the bucket is empty: only the first is built."""
    built: list[int] = []

    def fragmentation_needed(source: object, packet: object, mtu: int) -> bytes:
        built.append(mtu)
        return b"\x45" + bytes(27)

    monkeypatch.setattr("pmip6.dataplane.pump.fragmentation_needed", fragmentation_needed)
    pump.icmp_rate_limit = TokenBucket(rate=0.0, burst=1)
    too_big = bytes(IP(src=SERVER, dst=SHARED_HOME, flags="DF") / UDP(sport=7, dport=4000) / bytes(1500))
    exchange(pump, *[too_big] * 20)
    assert len(built) == 1
    assert {str(outcome): count for outcome, count in pump.icmp_errors.items() if count} == {
        "sent": 1, "rate_limited": 19}


def test_RFC4443_2_4_f_each_tenant_has_its_own_bucket(pump: LmaPump) -> None:
    """Operator A's refused packets spend operator A's tokens only: with a burst of one and no refill, operator B's
    one too big packet (same addresses, its own TUN device) still hears its Fragmentation Needed, and operator A's
    second does not (docs/dataplane.md, "ICMP errors")."""
    pump.icmp_rate_limit = TokenBucket(rate=0.0, burst=1)
    too_big = bytes(IP(src=SERVER, dst=SHARED_HOME, flags="DF") / UDP(sport=7, dport=4000) / bytes(1500))
    assert len(exchange(pump, too_big, too_big, tenant="opA")) == 1
    answers = exchange(pump, too_big, tenant="opB")
    assert [(answer[20], answer[21]) for answer in answers] == [(3, 4)]
    assert {str(outcome): count for outcome, count in pump.icmp_errors.items() if count} == {
        "sent": 2, "rate_limited": 1}
    assert pump.lma.tenant_totals()["opB"].drops == {"too_big": 1}


def test_RFC4443_2_4_f_a_tun_device_attached_again_starts_with_a_full_bucket(pump: LmaPump) -> None:
    """A TUN key's bucket goes with its TUN device (at the MAG an access interface's context closes with its last
    session): attached again, its first refused packet hears its error, and detached keys keep no bucket."""
    pump.icmp_rate_limit = TokenBucket(rate=0.0, burst=1)
    too_big = bytes(IP(src=SERVER, dst=SHARED_HOME, flags="DF") / UDP(sport=7, dport=4000) / bytes(1500))
    sources = IcmpSources(ipv4=socket.inet_aton("10.0.0.254"))
    loop = asyncio.new_event_loop()
    pump._loop = loop
    device, other = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        with device, other:
            pump._attach_local("opA", device.fileno(), None, sources, "tena")
            assert len(exchange(pump, too_big, too_big)) == 1
            pump._detach_local("opA")
            assert pump._icmp_buckets == {}
            pump._attach_local("opA", device.fileno(), None, sources, "tena")
            assert len(exchange(pump, too_big)) == 1
            pump._detach_local("opA")
    finally:
        pump._loop = None
        loop.close()
