"""The IPv4-UDP mode (RFC 5844 4.1.4.1 and 4.2.2.2) in the LMA and MAG forwarders and the pump's UDP input."""

from __future__ import annotations

from dataplane_sessions import LMAA, MAG1, SERVER, SHARED_HOME, TunStandIn, ipv4, session

from pmip6.core.events import BindingEstablished, BindingUpdated, TunnelSession
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.forwarder import Forwarder
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag import MagForwarder
from pmip6.dataplane.settings import LmaDataplaneSettings

UPLINK = ipv4(SHARED_HOME, SERVER)
DOWNLINK = ipv4(SERVER, SHARED_HOME)
AT_LMA = session(b"mn1", gre=False, udp=True)
AT_MAG = session(b"mn1", at="mag", gre=False, udp=True)


def _with(forwarder: Forwarder, *sessions: TunnelSession) -> Forwarder:
    for tunnel_session in sessions:
        forwarder.apply(BindingEstablished(tunnel_session))
    return forwarder


def test_RFC5844_4_1_4_1_lma_sends_and_receives_ipv4_udp() -> None:
    lma = _with(LmaForwarder(), AT_LMA)
    assert isinstance(lma, LmaForwarder)
    assert lma.from_tenant("opA", DOWNLINK) == (MAG1, TunnelFormat.UDP, DOWNLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP, UPLINK) == ("opA", UPLINK)
    (row,) = lma.stats()["sessions"]
    assert (row["format"], row["uplink_packets"], row["downlink_packets"], row["drops"]) == ("udp", 1, 1, {})


def test_RFC5844_4_2_2_2_mag_sends_and_receives_ipv4_udp() -> None:
    mag = _with(MagForwarder(), AT_MAG)
    assert isinstance(mag, MagForwarder)
    assert mag.from_access("acc1", UPLINK) == (LMAA, TunnelFormat.UDP, UPLINK)
    assert mag.from_tunnel(LMAA, TunnelFormat.UDP, DOWNLINK) == ("acc1", DOWNLINK)
    assert (mag.totals().uplink_packets, mag.totals().downlink_packets) == (1, 1)


def test_the_plain_formats_are_accepted_for_each_others_sessions() -> None:
    """IP-in-IP and IPv4-UDP differ only in the UDP header and are matched alike (docs/dataplane.md): a MAG whose
    PBA lacked the NAT Detection option (IPv4 mode, RFC 5844 4.2.2) still takes the LMA's IPv4-UDP packets."""
    ip_in_ip = _with(LmaForwarder(), session(b"mn1", gre=False))
    assert ip_in_ip.from_tunnel(MAG1, TunnelFormat.UDP, UPLINK) == ("opA", UPLINK)
    udp = _with(LmaForwarder(), AT_LMA)
    assert udp.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK) == ("opA", UPLINK)


def test_ipv4_udp_packet_for_a_gre_session_is_not_gre_when_required() -> None:
    """As for IP-in-IP: a plain packet from a MAG whose session negotiated GRE (keyed or GRE-only) is dropped."""
    gre_only = _with(LmaForwarder(), session(b"mn1", downlink_key=None, uplink_key=None))
    assert gre_only.from_tunnel(MAG1, TunnelFormat.UDP, UPLINK) is DropReason.NOT_GRE_WHEN_REQUIRED
    assert gre_only.stats()["sessions"][0]["drops"] == {"not_gre_when_required": 1}
    keyed = _with(LmaForwarder(), session(b"mn1"))
    assert keyed.from_tunnel(MAG1, TunnelFormat.UDP, UPLINK) is DropReason.NOT_GRE_WHEN_REQUIRED
    assert keyed.totals().drops == {"not_gre_when_required": 1}


def test_a_binding_updated_from_ip_in_ip_to_ipv4_udp_switches_the_format() -> None:
    ip_in_ip = session(b"mn1", gre=False)
    lma = _with(LmaForwarder(), ip_in_ip)
    assert isinstance(lma, LmaForwarder)
    assert lma.from_tenant("opA", DOWNLINK)[1] is TunnelFormat.IP_IN_IP  # type: ignore[index]
    lma.apply(BindingUpdated(AT_LMA, ip_in_ip))
    assert lma.from_tenant("opA", DOWNLINK)[1] is TunnelFormat.UDP  # type: ignore[index]
    assert lma.totals().downlink_packets == 2


def test_pump_hands_a_plain_ip_udp_payload_to_the_forwarder_as_ipv4_udp(tun_stand_in: TunStandIn) -> None:
    """docs/dataplane.md "UDP ports": first nibble 4 or 6 is IPv4-UDP data (no sockets: the pump is not started)."""
    pump = LmaPump(LmaDataplaneSettings())
    tun_stand_in(pump)
    _with(pump.lma, session(b"mn1"))
    assert pump.handle_udp(MAG1, UPLINK, 0, 0)
    assert pump.lma.totals().drops == {"not_gre_when_required": 1}
    _with(pump.lma, AT_LMA)
    assert pump.handle_udp(MAG1, UPLINK, 0, 0)
    assert pump.lma.totals().uplink_packets == 1
    assert not pump.handle_udp(MAG1, bytes([59, 1, 5, 0]), 0, 0)  # a Mobility Header: the signaling's
