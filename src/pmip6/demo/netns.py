"""``pmip6 demo --netns``: the draft's Figure 1 with real daemons, real namespaces and real packets.

The same story as the in-process demo (pmip6.demo.figure1), told by processes: one ``pmip6 lma`` and two
``pmip6 mag`` (MAG-1, MAG-2) in the namespace lab of pmip6.lab.figure1, GRE required by the LMA, keys
chosen by the MAGs, each operator's traffic in its own routing context at the LMA. The four MNs attach
at MAG-1 through its control socket, take the IPv4 home address the LMA assigned, and exchange UDP echoes
with their operator's server (both at 10.0.255.1); the MAG refreshes every binding; MN-2 hands off to
MAG-2; MN-4 detaches. Both MAG-LMA links are captured at the LMA (AF_PACKET), so the signaling ladder and
the GRE keys reported are the ones that crossed the wire. The checks are those of pmip6.demo.checks.

:func:`running` builds the lab and starts the daemons, and always takes everything down again: on
success, on failure, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from pmip6.dataplane.forwarder import Direction
from pmip6.demo.checks import (
    Check,
    SessionView,
    TunneledPacket,
    detach_checks,
    echo_checks,
    handoff_checks,
    registration_checks,
    reregistration_check,
    traffic_after_handoff_check,
)
from pmip6.demo.figure1 import ECHOES_PER_ROUND, MOBILE_NODES, BindingRow, access_interface
from pmip6.demo.render import ladder_text
from pmip6.demo.traffic import read_udp
from pmip6.lab.capture import LinkCapture
from pmip6.lab.daemons import LMA_TENANTS_TOML, renumber, spawn, stop, wait_ready
from pmip6.lab.figure1 import LMA_ADDRESS, LMA_INTERFACE, MAG_ADDRESS, SERVER, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers
from pmip6.runtime.control import control_request
from pmip6.wire.dissect import FrameReport, dissect_frame
from pmip6.wire.errors import DecodeError
from pmip6.wire.gre import decode_gre
from pmip6.wire.ip import decode_ipv4
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator
from pmip6.wire.pcap import LINKTYPE_ETHERNET

LMAA = LMA_ADDRESS["mag"][0]
"""The LMA's one signaling address; MAG-2 reaches it through the LMA's address on its own link."""
MAG_NODES = {"MAG-1": "mag", "MAG-2": "mag2"}
PROXY_COA = {name: MAG_ADDRESS[node][0] for name, node in MAG_NODES.items()}
NODE_NAMES = {LMAA: "LMA", **{address: name for name, address in PROXY_COA.items()}}
MIN_DELAY_BEFORE_BCE_DELETE = 1.0
REQUEST_TIMEOUT = 10.0
ECHO_TIMEOUT = 2.0
ETHERNET_HEADER = 14
"""The captures are of veth interfaces: untagged Ethernet."""
MN_OF_NODE = {access_interface(name): name for name in MOBILE_NODES}
WORK_PREFIX = "pmip6-demo-"
"""The working directory (configurations, control sockets, daemon logs) is a temporary directory named
``pmip6-demo-<pid>-...``."""

_MAGS_TOML = "".join(f'[[mag]]\naddress = "{address}"\n' for address in PROXY_COA.values())
_MNS_TOML = "".join(f'[[mn]]\nid = "{mn_id.decode()}"\ntenant = "{tenant}"\n'
                    for mn_id, tenant in MOBILE_NODES.values())
LMA_TOML = f"""
[lma]
ipv4_address = "{LMAA}"
control = "lma.sock"
min_delay_before_bce_delete = {MIN_DELAY_BEFORE_BCE_DELETE}
[policy]
gre = "required"
{_MAGS_TOML}{_MNS_TOML}{LMA_TENANTS_TOML}"""


def mag_toml(name: str) -> str:
    return textwrap.dedent(f"""
        [mag]
        ipv4_address = "{PROXY_COA[name]}"
        lma = "{LMAA}:5436"
        gre = "keys"
        control = "{name.lower()}.sock"
        shutdown_timeout = 2.0
        [dataplane]
    """)


@dataclass(slots=True)
class NetnsFigure1:
    """The running lab: daemons, captures of both MAG-LMA links, and what the story observed so far."""

    lab: Figure1Lab
    directory: Path
    say: Callable[[str], None]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    captures: dict[str, LinkCapture] = field(default_factory=dict)
    """Per MAG, the LMA's interface toward it."""
    checks: list[Check] = field(default_factory=list)
    rows: list[BindingRow] = field(default_factory=list)
    """The binding table, taken before MN-4 detaches (so all four MNs show)."""
    ladder: list[str] = field(default_factory=list)
    """A line per signaling message captured, in order."""
    tunneled: list[TunneledPacket] = field(default_factory=list)
    """Every tunneled packet captured, in order, with the key its session held for its direction."""
    views: dict[str, SessionView] = field(default_factory=dict)
    """The sessions as the current echo round started, which its packets are checked against (none outside one)."""
    reported: tuple[int, int] = (0, 0)
    """How much of ``ladder`` and ``tunneled`` :meth:`observe` has returned."""
    replies: dict[str, int] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    # ---- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Capture both links, then start the LMA, MAG-1 and MAG-2, each ready before the next."""
        self.lab.route("mag2", f"{LMAA}/32", gateway=LMA_ADDRESS["mag2"][0], interface="core")
        for name, node in MAG_NODES.items():
            self.captures[name] = LinkCapture(self.lab.ns("lma"), LMA_INTERFACE[node])
        self.started_at = time.time()
        (self.directory / "lma.toml").write_text(LMA_TOML)
        self._start("lma", "lma", "lma")
        for name, node in MAG_NODES.items():
            (self.directory / f"{name.lower()}.toml").write_text(mag_toml(name))
            self._start(name.lower(), "mag", node)

    def _start(self, name: str, role: str, node: str) -> None:
        log = self.directory / f"{name}.log"
        process = spawn([role, "--config", str(self.directory / f"{name}.toml")], netns=self.lab.ns(node), log=log,
                        cwd=self.directory)
        self.processes[name] = process
        wait_ready(self.directory / f"{name}.sock", process, log)
        self.say(f"  started pmip6 {role} as {name.upper()} (pid {process.pid}) in namespace {self.lab.ns(node)}")

    def close(self) -> None:
        """Stop the MAGs (they de-register their MNs), then the LMA; close the captures."""
        stop([self.processes[name] for name in ("mag-1", "mag-2", "lma") if name in self.processes], timeout=10)
        for capture in self.captures.values():
            capture.close()

    # ---- the story ------------------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("MN-1..MN-4 attach to MAG-1 (PBU with a downlink key, PBA with an uplink key)", self.attach_all),
            (f"each MN exchanges UDP echoes with its operator's server at {SERVER}", self.traffic),
            ("MAG-1 re-registers every MN (refresh)", self.reregister),
            ("MN-2 hands off to MAG-2", self.handoff),
            ("MN-4 detaches; its binding drains, then its uplink key is freed", self.detach),
        ]

    def attach_all(self) -> None:
        for name in MOBILE_NODES:
            self._request("MAG-1", "attach", name, interface=f"acc{name[-1]}", hi=HandoffIndicator.NEW_INTERFACE)
        sessions = self.sessions()
        for name, session in sessions.items():
            if session.ipv4_home_at_mag is not None:
                renumber(self.lab, access_interface(name), session.ipv4_home_at_mag)
        self.checks += registration_checks(sessions, len(MOBILE_NODES))

    def traffic(self) -> None:
        senders = self._echo_round(list(MOBILE_NODES))
        self.checks += echo_checks(self.replies, ECHOES_PER_ROUND, senders,
                                   {name: tenant for name, (_, tenant) in MOBILE_NODES.items()})

    def reregister(self) -> None:
        before = self.sessions()
        accepted = self._accepted()
        for name in MOBILE_NODES:
            self._request("MAG-1", "refresh", name)
        self.checks.append(reregistration_check(before, self.sessions(),
                                                self._accepted() - accepted == len(MOBILE_NODES)))

    def handoff(self) -> None:
        before = self.sessions().get("MN-2")
        uplink_before = before.uplink_key if before is not None else None
        mag1_keys = self._reserved("MAG-1")
        self._request("MAG-2", "attach", "MN-2", interface="acc2", hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
        self.lab.move_mn2_to_mag2()
        self._request("MAG-1", "detach", "MN-2")
        after = self.sessions().get("MN-2")
        if after is not None and after.ipv4_home_at_mag is not None:
            renumber(self.lab, "mn2", after.ipv4_home_at_mag, interface="eth1")
        mn_id = MOBILE_NODES["MN-2"][0].decode()
        mag1_plane = self._control("MAG-1", {"command": "dataplane"})
        self.checks += handoff_checks(
            uplink_before, after,
            mn_id not in self._rows("MAG-1") and all(s["mn_id"] != mn_id for s in mag1_plane["sessions"])
            and self._reserved("MAG-1") == mag1_keys - 1)
        first_packet, replies_before = len(self.tunneled), self.replies.get("MN-2", 0)
        self._echo_round(["MN-2"])
        self.checks.append(traffic_after_handoff_check(
            self.replies.get("MN-2", 0) - replies_before, ECHOES_PER_ROUND,
            [packet for packet in self.tunneled[first_packet:] if packet.mn == "MN-2"], uplink_before))

    def detach(self) -> None:
        self.rows = self.binding_rows()
        mn_id = MOBILE_NODES["MN-4"][0].decode()
        uplink = self._rows("lma").get(mn_id, {}).get("uplink_key")
        lma_keys, mag1_keys = self._reserved("lma"), self._reserved("MAG-1")
        self._request("MAG-1", "detach", "MN-4")
        draining = self._rows("lma").get(mn_id)
        held = uplink is not None and draining is not None and draining["state"] == "deregistering" \
            and draining["uplink_key"] == uplink and self._reserved("lma") == lma_keys
        deadline = time.monotonic() + MIN_DELAY_BEFORE_BCE_DELETE + 5
        while (gone := mn_id not in self._rows("lma")) is False and time.monotonic() < deadline:
            time.sleep(0.1)
        freed = gone and self._reserved("lma") == lma_keys - 1
        self.collect()
        self.checks += detach_checks(held, freed, self.tunneled)
        last = self._rows("lma").get(mn_id)
        keys_freed = freed and self._reserved("MAG-1") == mag1_keys - 1
        state = last["state"] if last is not None else "detached, keys freed" if keys_freed else \
            "detached, keys not freed"
        self.rows = [row if row.mn != "MN-4" else replace(row, state=state) for row in self.rows]

    def binding_rows(self) -> list[BindingRow]:
        lma = self._rows("lma")
        traffic = {session["mn_id"]: session for session in self._control("lma", {"command": "dataplane"})["sessions"]}
        rows = []
        for name, (mn_id, _) in MOBILE_NODES.items():
            row = lma.get(mn_id.decode())
            if row is None:
                continue
            counters = traffic.get(row["mn_id"], {})
            rows.append(BindingRow(
                mn=name, mn_id=row["mn_id"], tenant=row["tenant"], ipv4_home=row["ipv4_home"],
                hnp=row["hnp"][0] if row["hnp"] else None, mag=NODE_NAMES.get(row["proxy_coa"], row["proxy_coa"]),
                downlink_key=row["downlink_key"], uplink_key=row["uplink_key"], tlv=row["tlv"],
                packets_up=int(counters.get("uplink_packets", 0)),
                packets_down=int(counters.get("downlink_packets", 0)), state=row["state"],
            ))
        return rows

    def sessions(self) -> dict[str, SessionView]:
        """Each MN's binding at the LMA, and whether the MAG it names holds the same keys."""
        lma = self._rows("lma")
        mags = {name: self._rows(name) for name in MAG_NODES}
        views = {}
        for name, (mn_id, _) in MOBILE_NODES.items():
            row = lma.get(mn_id.decode())
            if row is None:
                continue
            mag = NODE_NAMES.get(row["proxy_coa"], row["proxy_coa"])
            at_mag = mags.get(mag, {}).get(row["mn_id"])
            views[name] = SessionView(
                tenant=row["tenant"], ipv4_home=row["ipv4_home"], mag=mag, uplink_key=row["uplink_key"],
                downlink_key=row["downlink_key"],
                keys_agree=at_mag is not None and row["gre"] == at_mag["gre"] == "keys"
                and (row["uplink_key"], row["downlink_key"]) == (at_mag["uplink_key"], at_mag["downlink_key"]),
                ipv4_home_at_mag=at_mag["ipv4_home"] if at_mag is not None else None)
        return views

    # ---- what crossed the MAG-LMA links ---------------------------------------------------------------

    def observe(self) -> tuple[list[str], list[int | None]]:
        """The ladder lines of the signaling and the GRE keys of the tunneled packets since the last call."""
        self.collect()
        lines, packets = self.reported
        self.reported = (len(self.ladder), len(self.tunneled))
        return self.ladder[lines:], [packet.key for packet in self.tunneled[packets:]]

    def collect(self) -> None:
        """Read what the captures queued into ``ladder`` and ``tunneled``."""
        frames = sorted(frame for capture in self.captures.values() for frame in capture.drain())
        for timestamp, frame in frames:
            report = dissect_frame(LINKTYPE_ETHERNET, frame)
            if report.mh is None and report.gre is None:
                continue
            assert report.source is not None and report.destination is not None
            if report.mh is not None:
                self.ladder.append(ladder_text(timestamp - self.started_at, _node(report.source),
                                               _node(report.destination), report.mh))
            else:
                self.tunneled.append(self._tunneled(report, frame))

    def _tunneled(self, report: FrameReport, frame: bytes) -> TunneledPacket:
        """A captured GRE packet, checked against :attr:`views`: from the LMA it is downlink, else uplink."""
        assert report.gre is not None and report.source is not None and report.destination is not None
        downlink = str(report.source) == LMAA
        direction = Direction.DOWNLINK if downlink else Direction.UPLINK
        mn = _echo_of(frame)
        view = self.views.get(mn) if mn is not None else None
        return TunneledPacket(mn, direction, _node(report.destination if downlink else report.source), report.gre.key,
                              view.registered_key(direction) if view is not None else None)

    def write_pcap(self, stream: BinaryIO) -> int:
        """The capture of the MAG-1 link (the LMA's interface toward MAG-1) as an Ethernet pcap."""
        return self.captures["MAG-1"].write_pcap(stream)

    # ---- helpers ------------------------------------------------------------------------------------

    def _control(self, daemon: str, request: dict[str, Any]) -> Any:
        return control_request(self.directory / f"{daemon.lower()}.sock", request, timeout=REQUEST_TIMEOUT + 5)

    def _request(self, mag: str, command: str, name: str, **arguments: Any) -> None:
        """attach / refresh / detach ``name`` at ``mag`` and wait for the outcome; say what happened."""
        request = {"command": command, "mn_id": MOBILE_NODES[name][0].decode(), "timeout": REQUEST_TIMEOUT,
                   **arguments}
        if command == "attach":
            request.update(att=AccessTechnologyType.IEEE_802_11, ipv6=False)
        result = self._control(mag, request)
        self.say(f"  {mag}: {command} {name} -> {result.get('outcome')}")

    def _rows(self, daemon: str) -> dict[str, dict[str, Any]]:
        return {row["mn_id"]: row for row in self._control(daemon, {"command": "bindings"})}

    def _reserved(self, daemon: str) -> int:
        """The GRE keys ``daemon`` holds reserved (``show stats`` ``gre_keys``): the LMA's uplink, a MAG's downlink."""
        return int(self._control(daemon, {"command": "stats"})["gre_keys"]["reserved"])

    def _accepted(self) -> int:
        return int(self._control("lma", {"command": "stats"})["pba_sent"].get("ACCEPTED", 0))

    def _echo_round(self, names: list[str]) -> dict[str, set[str]]:
        """Every MN of ``names`` echoes with its operator's server; returns, per operator, who its server saw. The
        packets captured meanwhile are checked against the sessions as the round started."""
        self.collect()
        self.views = self.sessions()
        try:
            seen = asyncio.run(self._exchange(names))
            self.collect()
        finally:
            self.views = {}
        return {tenant: {MN_OF_NODE[payload.decode().split("#")[0]] for _, payload in requests}
                for tenant, requests in seen.items()}

    async def _exchange(self, names: list[str]) -> dict[str, list[tuple[str, bytes]]]:
        servers = await start_servers(self.lab)
        try:
            for name in names:
                node = access_interface(name)
                replies = await echo(self.lab, node, count=ECHOES_PER_ROUND, timeout=ECHO_TIMEOUT)
                self.replies[name] = self.replies.get(name, 0) + sum(
                    reply in requests_of(node, ECHOES_PER_ROUND) for reply in replies)
            return {tenant: list(server.seen) for tenant, server in servers.items()}
        finally:
            for server in servers.values():
                if server.transport is not None:
                    server.transport.close()


def _node(address: IPv4Address | IPv6Address) -> str:
    return NODE_NAMES.get(str(address), str(address))


def _echo_of(frame: bytes) -> str | None:
    """The MN whose echo a captured IPv4/GRE frame carries (its UDP payload is ``mn1#0``: pmip6.lab.traffic)."""
    try:
        outer, offset = decode_ipv4(frame[ETHERNET_HEADER:])
        gre = frame[ETHERNET_HEADER + offset:ETHERNET_HEADER + outer.end]
        payload = read_udp(gre[decode_gre(gre)[1]:])[0].payload
    except (DecodeError, ValueError):
        return None
    return MN_OF_NODE.get(payload.split(b"#")[0].decode(errors="replace"))


@contextlib.contextmanager
def running(say: Callable[[str], None]) -> Iterator[NetnsFigure1]:
    """The lab with its daemons started; on leaving (normally, by an exception, Ctrl-C or SIGTERM) the
    daemons are stopped and the namespaces and the working directory removed. SIGTERM is turned into
    KeyboardInterrupt while inside; Ctrl-C and SIGTERM are ignored while cleaning up."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    directory = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))
    lab = Figure1Lab(access_router=False)  # the MAGs add the PBA's default router themselves
    demo: NetnsFigure1 | None = None
    try:
        say(f"  building the lab: namespaces {lab.ns('*')} (MNs, MAG, MAG-2, LMA, two operator networks)")
        lab.build()
        demo = NetnsFigure1(lab, directory, say)
        demo.start()
        yield demo
    finally:
        with _signals_ignored():
            if demo is not None:
                demo.close()
            lab.destroy()
            shutil.rmtree(directory, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(number: int, _frame: FrameType | None) -> None:
    """SIGTERM as Ctrl-C, in this process only: a child forked meanwhile (pyroute2 forks one per NetNS)
    inherits the handler and must simply die of the signal."""
    if os.getpid() != _MAIN_PID:
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return
    raise KeyboardInterrupt


_MAIN_PID = os.getpid()


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
