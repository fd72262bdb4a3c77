"""The tester playing an LMA toward a MAG under test.

Two transports, as an LMA would offer them: IPv4/UDP (RFC 5844 sections 4.1.3.2, 4.2.2.1: the MH is the
UDP payload, checksum 0, the PBA goes back to the PBU's source address and port) when ``listen`` is an IPv4
address, a raw IPPROTO_MH socket (RFC 6275 section 6.1.1, needs CAP_NET_RAW) when it is an IPv6 one. Over
IPv6 the tester checks each PBU's checksum itself (a bad one is recorded, not answered, RFC 6275 9.2) and
computes the PBA's.

:class:`LmaResponder` waits for the MAG's PBUs and answers each with a PBA of the status, GRE Key option
and lifetime a check chooses. Everything else follows RFC 5213 section 5.3.6: sequence, P flag, MN-ID, HI,
ATT, MN-LL-ID and Timestamp echoed; ALL_ZERO HNP and 0.0.0.0 IPv4 requests get addresses from
documentation ranges (the same ones again for the same MN); a reject echoes the requested HNPs.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from pmip6.conformance.signaling import PacketRecord
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, verify_checksum
from pmip6.wire.numbers import BAFlags, BUFlags, IPProto
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

_ECHOED = (HandoffIndicatorOption, AccessTechnologyTypeOption, MNLinkLayerIdentifierOption, TimestampOption)
_PREFIX_BASE = int(IPv6Address("2001:db8:ffff::"))
_HOME_BASE = int(IPv4Address("198.18.0.0"))
DEFAULT_ROUTER = IPv4Address("198.18.0.1")
HOME_PREFIX_LENGTH = 64
HOME_IPV4_PREFIX_LENGTH = 24


@dataclass(frozen=True, slots=True)
class ReceivedPBU:
    pbu: ProxyBindingUpdate
    mag: tuple[str, int]

    @property
    def mn_id(self) -> bytes | None:
        option = self.pbu.option(MNIdentifierOption)
        return None if option is None else option.identifier


@dataclass(slots=True)
class LmaResponder:
    """A socket on ``listen`` acting as the MAG's LMA; ``packets`` records every MH in and out.

    ``listen`` is (IPv4 address, UDP port) or (IPv6 address, ignored): see the module docstring."""

    listen: tuple[IPv4Address | IPv6Address, int]
    socket: socket.socket = field(init=False)
    packets: list[PacketRecord] = field(default_factory=list)
    heard: bool = False
    """Whether anything came to ``listen`` yet: the MAG reaches the tester (or some other sender does)."""
    _raw_mh: IPv6Address | None = field(init=False)
    """The listening IPv6 address over raw MH (the checksums' pseudo-header end), None over IPv4/UDP."""
    _home_index: dict[bytes, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        address, port = self.listen
        self._raw_mh = address if isinstance(address, IPv6Address) else None
        if self._raw_mh is None:
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        else:
            self.socket = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
            port = 0
        try:
            if self._raw_mh is not None:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)  # checked here, not dropped
            self.socket.bind((str(address), port))
        except OSError:
            self.socket.close()
            raise

    def close(self) -> None:
        self.socket.close()

    def next_pbu(self, mn_id: bytes, timeout: float) -> ReceivedPBU | None:
        """The next PBU for ``mn_id`` within ``timeout`` seconds; PBUs for other MNs are left unanswered."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.socket.settimeout(left)
            try:
                data, sender = self.socket.recvfrom(65535)
            except TimeoutError:
                return None
            self.heard = True
            mag: tuple[str, int] = (sender[0].split("%", 1)[0], sender[1])
            local, remote = self._local(), self._endpoint(mag)
            if self._raw_mh is not None and not verify_checksum(data, IPv6Address(mag[0]), self._raw_mh):
                self.packets.append(PacketRecord("received", remote, local, data, None, "bad MH checksum: dropped"))
                continue
            try:
                message = decode_message(data)
            except DecodeError as error:
                self.packets.append(PacketRecord("received", remote, local, data, None, str(error)))
                continue
            if not isinstance(message, ProxyBindingUpdate):
                continue
            received = ReceivedPBU(message, mag)
            if received.mn_id == mn_id:
                self.packets.append(PacketRecord("received", remote, local, data, message))
                return received
        return None

    def answer(self, received: ReceivedPBU, status: int = 0, gre: GREKeyOption | None = None, *,
               tlv: bool = False, lifetime: int | None = None) -> ProxyBindingAcknowledgement:
        """Send the PBA; ``lifetime`` in 4 s units defaults to the requested one."""
        pbu = received.pbu
        flags = (BAFlags.P if pbu.flags & BUFlags.P else BAFlags(0)) | (BAFlags.T if tlv else BAFlags(0))
        options: list[MobilityOption] = [MNIdentifierOption(received.mn_id or b"")]
        options += self._addresses(received, accepted=status < 128)
        options += [option for option in pbu.options if isinstance(option, _ECHOED)]
        if gre is not None:
            options.append(gre)
        pba = ProxyBindingAcknowledgement(status=status, sequence=pbu.sequence, flags=flags,
                                          lifetime=pbu.lifetime if lifetime is None else lifetime,
                                          options=tuple(options))
        if self._raw_mh is not None:
            data = encode_message(pba, source=self._raw_mh, destination=IPv6Address(received.mag[0]))
        else:
            data = encode_message(pba)
        self.socket.sendto(data, received.mag)
        self.packets.append(PacketRecord("sent", self._local(), self._endpoint(received.mag), data, pba))
        return pba

    @property
    def endpoint(self) -> str:
        """Where the tester listens: ``address:port`` over IPv4/UDP, the bare address over raw IPv6 MH."""
        return self._local()

    def take_packets(self) -> tuple[PacketRecord, ...]:
        taken = tuple(self.packets)
        self.packets.clear()
        return taken

    def _addresses(self, received: ReceivedPBU, accepted: bool) -> list[MobilityOption]:
        pbu = received.pbu
        options: list[MobilityOption] = []
        index = self._home_index.setdefault(received.mn_id or b"", len(self._home_index) + 1)
        for prefix in pbu.options_of(HomeNetworkPrefixOption):
            if accepted and prefix.prefix == IPv6Address(0):
                prefix = HomeNetworkPrefixOption(IPv6Address(_PREFIX_BASE + (index << 64)), HOME_PREFIX_LENGTH)
            options.append(prefix)
        request = pbu.option(IPv4HomeAddressRequestOption)
        if request is not None and accepted:
            address = request.address if request.address != IPv4Address(0) else IPv4Address(_HOME_BASE + index + 1)
            options += [IPv4HomeAddressReplyOption(0, address, HOME_IPV4_PREFIX_LENGTH),
                        IPv4DefaultRouterAddressOption(DEFAULT_ROUTER)]
        return options

    def _local(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return self._endpoint((str(ip_address(host)), port))

    def _endpoint(self, address: tuple[str, int]) -> str:
        """``host:port`` over UDP, the bare address over raw IPv6 (no ports there)."""
        return address[0] if self._raw_mh is not None else f"{address[0]}:{address[1]}"
