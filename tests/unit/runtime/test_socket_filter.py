"""The classic BPF programs that set strangers' signaling apart (runtime/socket_filter.py).

Each program is checked against the kernel's rules for a classic program (at most BPF_MAXINSNS instructions, jumps
forward and inside it, 8-bit conditional offsets, a return at the end) and run through a small interpreter of the
four instructions it uses, reading the IP header at SKF_NET_OFF as the kernel does. The last tests attach them to
real loopback sockets.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from ipaddress import IPv4Address, IPv6Address

import pytest

from pmip6.core.events import Address
from pmip6.runtime.socket_filter import (
    AUTHORIZED_INDEX,
    DROP,
    JA,
    JEQ_K,
    KEEP,
    LD_W_ABS,
    MAX_INSTRUCTIONS,
    RET_K,
    SKF_NET_OFF,
    SO_ATTACH_FILTER,
    SO_ATTACH_REUSEPORT_CBPF,
    STRANGER_INDEX,
    Program,
    attach,
    mh_filters,
    reuseport_program,
)
from pmip6.wire.numbers import IPProto

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)


def _check(program: Program) -> None:
    """What the kernel's bpf_check_classic asks of the instructions this module emits."""
    assert 0 < len(program) <= MAX_INSTRUCTIONS
    assert program[-1].code == RET_K
    for at, (code, jt, jf, k) in enumerate(program):
        assert code in (LD_W_ABS, JEQ_K, JA, RET_K)
        if code == JEQ_K:
            assert 0 <= jt <= 255 and 0 <= jf <= 255 and at + 1 + max(jt, jf) < len(program)
        elif code == JA:
            assert 0 <= k and at + 1 + k < len(program)


def _run(program: Program, header: bytes) -> int:
    """The program's answer for a packet whose network header is ``header``."""
    at, accumulator = 0, 0
    while True:
        code, jt, jf, k = program[at]
        at += 1
        if code == RET_K:
            return k
        if code == LD_W_ABS:
            offset = k - SKF_NET_OFF
            assert k < 0 and 0 <= offset <= len(header) - 4, "only the network header is read"
            accumulator = struct.unpack_from("!I", header, offset)[0]
        elif code == JEQ_K:
            at += jt if accumulator == k else jf
        else:
            at += k


def _ipv4_header(source: IPv4Address) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 44, 0, 0, 64, 17, 0, source.packed, IPv4Address("192.0.2.100").packed)


def _ipv6_header(source: IPv6Address) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, 16, 135, 64, source.packed, IPv6Address("2001:db8::100").packed)


def _near_misses(address: IPv6Address) -> list[IPv6Address]:
    """Addresses that differ from ``address`` in one 32-bit word only, one per word."""
    value = int(address)
    return [IPv6Address(value ^ (1 << (96 - 32 * word))) for word in range(4)]


def test_the_reuseport_program_picks_the_authorized_socket_for_the_ipv4_mags_only() -> None:
    rng = random.Random(5845)
    mags = {IPv4Address(rng.getrandbits(32)) for _ in range(2000)}
    program = reuseport_program([*mags, IPv6Address("2001:db8::1")])
    assert program is not None
    _check(program)
    for mag in mags:
        assert _run(program, _ipv4_header(mag)) == AUTHORIZED_INDEX
    for _ in range(2000):
        stranger = IPv4Address(rng.getrandbits(32))
        assert _run(program, _ipv4_header(stranger)) == (AUTHORIZED_INDEX if stranger in mags else STRANGER_INDEX)
    for mag in list(mags)[:50]:
        assert _run(program, _ipv4_header(IPv4Address(int(mag) ^ 1))) == \
            (AUTHORIZED_INDEX if IPv4Address(int(mag) ^ 1) in mags else STRANGER_INDEX)


def test_without_ipv4_mags_every_datagram_goes_to_the_strangers_socket() -> None:
    program = reuseport_program([IPv6Address("::1")])
    assert program is not None
    _check(program)
    assert _run(program, _ipv4_header(IPv4Address("127.0.0.1"))) == STRANGER_INDEX


def test_more_ipv4_mags_than_one_program_holds_give_none() -> None:
    """ld, a jeq/ret pair per address, ret: 2,047 addresses fit, 2,048 do not."""
    mags = [IPv4Address(0x0A000000 + n) for n in range(2048)]
    fitting = reuseport_program(mags[:-1])
    assert fitting is not None and len(fitting) == MAX_INSTRUCTIONS
    assert reuseport_program(mags) is None


@pytest.mark.parametrize(("shared", "count"), [(0, 300), (64, 600), (96, 2000)],
                         ids=["nothing-shared", "one-64", "one-96"])
def test_the_mh_filters_keep_complementary_sources(shared: int, count: int) -> None:
    """The authorized filter keeps the IPv6 MAGs, the strangers' every other source, including addresses that differ
    from a MAG in one word only; addresses sharing their first words are tested once (12 instructions an address
    that shares nothing, 6 in one /64, 2 in one /96)."""
    rng = random.Random(shared)
    prefix = rng.getrandbits(128) >> (128 - shared) << (128 - shared) if shared else 0
    mags = {IPv6Address(prefix | rng.getrandbits(128 - shared)) for _ in range(count)}
    filters = mh_filters([*mags, IPv4Address("192.0.2.1")])
    assert filters is not None
    authorized, strangers = filters
    for program in filters:
        _check(program)
    others = [IPv6Address(prefix | rng.getrandbits(128 - shared)) for _ in range(1000)]
    others += [miss for mag in list(mags)[:100] for miss in _near_misses(mag)]
    for source in [*mags, *others]:
        header = _ipv6_header(source)
        assert (_run(authorized, header), _run(strangers, header)) == \
            ((KEEP, DROP) if source in mags else (DROP, KEEP)), source


def test_more_ipv6_mags_than_one_program_holds_give_none() -> None:
    rng = random.Random(6)
    mags: list[Address] = [IPv6Address(rng.getrandbits(128)) for _ in range(400)]
    assert mh_filters(mags) is None
    assert mh_filters(mags[:300]) is not None


def _reuseport_pair(address: str) -> list[socket.socket]:
    pair: list[socket.socket] = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, pair[0].getsockname()[1] if pair else 0))
        sock.setblocking(False)
        pair.append(sock)
    return pair


def _drain(sock: socket.socket, deadline: float) -> list[str]:
    """The sources of what ``sock`` received, waiting until ``deadline`` (a monotonic time) for the first."""
    sock.settimeout(max(0.0, deadline - time.monotonic()))
    sources = []
    while True:
        try:
            sources.append(sock.recvfrom(100)[1][0])
        except (BlockingIOError, TimeoutError, socket.timeout):
            return sources
        sock.setblocking(False)


def test_the_kernel_gives_each_udp_datagram_to_the_socket_the_program_picks() -> None:
    """SO_ATTACH_REUSEPORT_CBPF: the program runs at the UDP payload and reads the source at SKF_NET_OFF + 12."""
    pair = _reuseport_pair("127.0.0.1")
    try:
        program = reuseport_program([IPv4Address("127.0.0.2")])
        assert program is not None
        attach(pair[0], SO_ATTACH_REUSEPORT_CBPF, program)
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.4"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.bind((source, 0))
                sender.sendto(b"\x3b" * 16, pair[0].getsockname())
        deadline = time.monotonic() + 5.0
        assert sorted(_drain(pair[0], deadline)) == ["127.0.0.2", "127.0.0.2"]
        assert sorted(_drain(pair[1], deadline)) == ["127.0.0.3", "127.0.0.4"]
    finally:
        for sock in pair:
            sock.close()


def _raw_mh(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
    sock.bind((address, 0))
    return sock


def test_the_kernel_keeps_each_raw_mobility_header_on_the_socket_whose_filter_takes_it() -> None:
    """SO_ATTACH_FILTER on raw IPv6 sockets: the source at SKF_NET_OFF + 8; a bad MH checksum still reaches pmip6
    (it verifies and counts it itself)."""
    try:
        pair = [_raw_mh("::1"), _raw_mh("::1")]
    except PermissionError:
        pytest.skip("raw IPv6 sockets need CAP_NET_RAW")
    try:
        for mags, expected in (([IPv6Address("::1")], (1, 0)), ([IPv6Address("2001:db8::1")], (0, 1))):
            filters = mh_filters(mags)
            assert filters is not None
            for sock, program in zip(pair, filters):
                attach(sock, SO_ATTACH_FILTER, program)
            with _raw_mh("::1") as sender:
                sender.sendto(bytes([59, 1, 5, 0, 0xDE, 0xAD]) + bytes(10), ("::1", 0))  # checksum not computed
            deadline = time.monotonic() + 5.0
            received = tuple(len(_drain(sock, deadline if want else time.monotonic() + 0.2))
                             for sock, want in zip(pair, expected))
            assert received == expected, mags
    finally:
        for sock in pair:
            sock.close()


def test_the_kernel_refuses_a_program_longer_than_max_instructions() -> None:
    """Why the builders give None rather than a longer program."""
    program = reuseport_program([IPv4Address(0x0A000000 + n) for n in range(2047)])
    assert program is not None
    too_long = [program[0], *program[1:-1], program[1], program[2], program[-1]]
    pair = _reuseport_pair("127.0.0.1")
    try:
        attach(pair[0], SO_ATTACH_REUSEPORT_CBPF, program)
        with pytest.raises(OSError):
            attach(pair[0], SO_ATTACH_REUSEPORT_CBPF, too_long)
    finally:
        for sock in pair:
            sock.close()
