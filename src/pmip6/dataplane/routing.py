"""Policy routing for the routing contexts of the pump, through netlink, never the ``ip`` tool: the writes through
pyroute2, the readings through raw rtnetlink (``pmip6.dataplane.netlink_dump`` and its users) or libc.

A context steers every packet that arrives on one interface into a table of its own whose default route
leaves by another interface. At the LMA that keeps tenants with the same private addresses apart; at the
MAG it ties an MN's access interface to its TUN device (RFC 5845 section 1, Figure 1).

These calls block: the pump runs them on its one netlink thread (pyroute2's asyncio flavour cannot run on
uvloop, which the daemons use by default). A netlink error comes out as an OSError that names the object
(``rule iif pmip-a lookup 100 priority 1000 (IPv4): File exists``), its errno kept.

Each context's table also holds a ``blackhole`` default route at the largest metric, below its real one: when the
kernel deletes the real one with its interface going down (``ip link set upa down``, or the device deleted), a
lookup in the table ends there instead of falling through the rules to the main table, where another tenant's
uplink may route the same private addresses (walkthrough 10: operator A's packets reached operator B's server; RFC
5845 section 3.1, the LMA "must be able to distinguish flows belonging to different operators"). The packets are
dropped silently: an ``unreachable`` route would have the kernel send an ICMP error of its own, which the main
table routes, at a MAG out of the tunnel and toward the wrong operator (review 16). :func:`restore_routes` puts the
real route back once the interface is up again (the pump calls it at the address and link notifications,
``pmip6.dataplane.address_watch``), resolving the names of its interfaces again: an interface deleted and created
again (an operator re-creating a veth) has another index, and its routes follow it.

TUN devices vanish with the process that opened them, and the routes into them with the devices, but the rules
and the routes out of the other interfaces stay in the kernel when a daemon dies without stopping (kill -9, a
crash). :func:`steer` therefore takes over what an earlier run left: routes are replaced, a rule that exists
as wanted is kept, and one at the same priority for the same interface that looks up another table (an
earlier configuration) is removed (docs/dataplane.md, "After a crash"). Everything pmip6 installs carries its own
routing protocol number, :data:`RTPROT_PMIP6` (``proto 213`` in ``ip rule`` and ``ip route``), so a rule an earlier
run left for the same interface at another priority (an earlier ``rule_priority``) is recognised as pmip6's and
removed too, and so are the pmip6 routes of a table no rule looks up any more. Only the interfaces (and sources) a
daemon installs rules for are looked at: an LMA and a MAG in one namespace never remove each other's rules.

At the MAG an access interface also holds the addresses its sessions need there (:func:`hold_addresses`): their IPv4
default routers (RFC 5844 section 3.2.3.2) and the link-local addresses the LMA gave (RFC 5213 6.9.1.2 item 15),
tagged the same way, so that the next run takes over an address a killed one left.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import cast

from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl.fibmsg import FR_ACT_BLACKHOLE, FR_ACT_TO_TBL

from pmip6.dataplane.address_dump import InterfaceAddress, addresses
from pmip6.dataplane.netns import inside
from pmip6.dataplane.netlink_dump import netns_of
from pmip6.dataplane.route_dump import DefaultRoute, default_routes, route_oif
from pmip6.dataplane.rule_dump import Rule, rules

_FAMILIES = ((socket.AF_INET, "0.0.0.0/0"), (socket.AF_INET6, "::/0"))
_MISSING = (2, 3, 19)  # ENOENT, ESRCH, ENODEV
_NOT_THERE = (errno.ENETDOWN, errno.ENODEV, errno.ENETUNREACH, errno.EHOSTUNREACH)
"""What adding a route answers when its interface is down or gone, or its gateway is not (yet) on a link: an
administrative down deletes the interface's static IPv6 addresses (``keep_addr_on_down`` 0, the default), and its
IPv6 gateway is unreachable until an address is back (review 16)."""
_FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}
_ICMP_PROTOCOLS: dict[int, int] = {socket.AF_INET: 1, socket.AF_INET6: 58}
_NODAD, _NOPREFIXROUTE = 0x02, 0x200
"""IFA_F_NODAD, IFA_F_NOPREFIXROUTE (<linux/if_addr.h>)."""
_LAST_METRIC = 0xFFFFFFFF
"""The largest route metric: the ``blackhole`` floor of a context's table is used only without its real route."""
RTPROT_PMIP6 = 213
"""The routing protocol (rtm_protocol of a route, FRA_PROTOCOL of a policy rule, IFA_PROTO of an address) of
everything pmip6 installs: a value <linux/rtnetlink.h> and /etc/iproute2/rt_protos leave unassigned (RFC 5845
modulo 256), which the kernel keeps without interpreting it ("values of protocol >= RTPROT_STATIC are not
interpreted by kernel"). ``echo "213 pmip6" > /etc/iproute2/rt_protos.d/pmip6.conf`` makes ``ip`` show it as
``proto pmip6``."""


@dataclass(slots=True)
class Steering:
    """Rules ``iif <from> lookup <table>`` and the table's default routes, as installed."""

    rules: list[dict[str, object]] = field(default_factory=list)
    routes: list[dict[str, object]] = field(default_factory=list)
    interfaces: dict[str, int] = field(default_factory=dict)
    """The index of each interface a route leaves by, by name, as last installed: :func:`restore_routes` follows a
    name to its new index."""


def open_netlink(netns: str | None) -> IPRoute:
    """A netlink socket in ``netns`` (a name under /var/run/netns) or in the current namespace."""
    return NetNS(netns) if netns else IPRoute()


def interface_indexes(ipr: IPRoute) -> dict[str, int]:
    """The index of every interface of ``ipr``'s namespace, by name (``ip link``): if_nameindex(3), libc's own
    RTM_GETLINK dump, which decodes only the names (pyroute2 decodes every attribute, some 200 microseconds an
    interface)."""
    with inside(netns_of(ipr)):
        return {name: index for index, name in socket.if_nameindex()}


def interface_index(ipr: IPRoute, name: str) -> int:
    """The index of interface ``name`` in ``ipr``'s namespace: if_nametoindex(3), one ioctl (pyroute2's
    ``link_lookup`` read a whole netlink answer and kept a message of each request for good, walkthrough 14); no
    such interface is an OSError (ENODEV)."""
    with inside(netns_of(ipr)):
        try:
            return socket.if_nametoindex(name)
        except OSError as error:
            raise OSError(errno.ENODEV, f"{os.strerror(errno.ENODEV)}: no interface {name!r}") from error


def route_interface(ipr: IPRoute, destination: str, source: str | None) -> int:
    """The index of the interface the node's route to ``destination`` from ``source`` leaves by (``ip route get
    DESTINATION from SOURCE``): where the node's own packets from ``source`` to ``destination`` go out, through
    any source-routing policy rule, and so where packets from ``destination`` arrive if the path is symmetric, as
    strict reverse-path filtering expects (RFC 3704 section 2.2). Without ``source`` (the caller passes none for
    an address the node does not hold), the route to ``destination`` from any source. No route from ``source``
    (unreachable, prohibited) is an OSError: nothing from ``destination`` passes the check then."""
    try:
        index = route_oif(ipr, destination, source)
    except OSError as error:
        raise OSError(error.errno, f"route to {destination}: {error.strerror}") from error
    if index is None:
        raise OSError(errno.ENETUNREACH, f"route to {destination}: no interface")
    return index


def address_interfaces(ipr: IPRoute, address: str) -> frozenset[int]:
    """The indices of the interfaces that hold ``address``, one of the node's own (``ip addr show to ADDRESS``):
    where Linux says (IP_PKTINFO / IPV6_PKTINFO) a datagram the node sends itself to ``address`` arrived
    (``pmip6.dataplane.peer_routes``, "a peer that is one of the node's own addresses"); read in one address dump of
    that family (``pmip6.dataplane.address_dump``)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    wanted = socket.inet_ntop(family, socket.inet_pton(family, address))  # as the dump writes it
    return frozenset(found.index for found in addresses(ipr, family) if found.address == wanted)


@contextmanager
def naming_netlink(what: str) -> Iterator[None]:
    """Raise a netlink error as an OSError with ``what`` (e.g. "interface upa") before its reason, errno kept."""
    try:
        yield
    except NetlinkError as error:
        raise OSError(error.code, f"{what}: {error.args[1]}") from error


def set_up(ipr: IPRoute, name: str) -> int:
    """Bring interface ``name`` up; its index."""
    index = interface_index(ipr, name)
    with naming_netlink(f"interface {name}"):
        ipr.link("set", index=index, state="up")
    return index


def steer(ipr: IPRoute, steering: Steering, from_interface: str, table: int, priority: int,
          to_interface: str, gateways: tuple[IPv4Address | IPv6Address, ...] = ()) -> None:
    """Send everything arriving on ``from_interface`` (IPv4 and IPv6) out of ``to_interface`` via ``table``.

    A gateway of the right family is used when given; otherwise the default route is on-link. What an earlier
    run left in the kernel is taken over (see the module's docstring).
    """
    oif = steering.interfaces[to_interface] = set_up(ipr, to_interface)
    for family, default in _FAMILIES:
        floor: dict[str, object] = {"dst": default, "table": table, "family": family, "type": "blackhole",
                                    "priority": _LAST_METRIC, "proto": RTPROT_PMIP6}
        with naming_netlink(_route_text(floor)):
            ipr.route("replace", **floor)
        steering.routes.append(floor)
        route: dict[str, object] = {"dst": default, "table": table, "oif": oif, "family": family,
                                    "proto": RTPROT_PMIP6}
        gateway = next((g for g in gateways if (g.version == 4) == (family == socket.AF_INET)), None)
        if gateway is not None:
            route["gateway"] = str(gateway)
        with naming_netlink(f"{_route_text(route)} dev {to_interface}"):
            ipr.route("replace", **route)
        steering.routes.append(route)
        rule: dict[str, object] = {"family": family, "iifname": from_interface, "table": table,
                                   "priority": priority, "protocol": RTPROT_PMIP6}
        with naming_netlink(_rule_text(rule)):
            _add_rule(ipr, rule)
        steering.rules.append(rule)


def restore_routes(ipr: IPRoute, steerings: Iterable[Steering], indexes: Mapping[str, int]) -> None:
    """Put back the routes of ``steerings`` that leave by an interface (not the ``blackhole`` floors) and are not in
    the kernel: the kernel deletes a route with its interface going down and does not add it again when the
    interface comes up, and an operator may delete one (``ip route del``). An interface whose name ``indexes``
    (:func:`interface_indexes`) gives another index now was deleted and created again: its routes leave by the new
    one. One whose name ``indexes`` lacks is gone: its routes are not tried, since another interface may have its
    index now (created with it, or moved in from another namespace, review 18). What is there is read in one dump
    (``pmip6.dataplane.route_dump``) and only the routes it lacks are written, so a notification costs a few
    milliseconds and a route write for each route missing, not one for each route (docs/dataplane.md, "Each
    notification"); a dump a change interrupted counts every route missing. A route whose interface is still down
    or gone, or whose gateway is not reachable yet, stays missing (its table's floor drops the packets meanwhile)
    until a later notification; every route is tried, and the first other error is raised after."""
    candidates = [route for steering in steerings for route in _followed_routes(steering, indexes)]
    installed = default_routes(ipr, RTPROT_PMIP6) if candidates else frozenset()
    failed: OSError | None = None
    for route in candidates:
        if installed is not None and _default_route_of(route) in installed:
            continue
        try:
            ipr.route("replace", **route)
        except NetlinkError as error:
            if error.code not in _NOT_THERE and failed is None:
                failed = OSError(error.code, f"{_route_text(route)}: {error.args[1]}")
    if failed is not None:
        raise failed


def _followed_routes(steering: Steering, indexes: Mapping[str, int]) -> Iterator[dict[str, object]]:
    """The routes of ``steering`` that leave by an interface still there, each moved to the index its interface's
    name has now (see :func:`restore_routes`)."""
    moved = {index: indexes.get(name) for name, index in steering.interfaces.items()}  # old index: new, None if gone
    steering.interfaces.update({name: indexes[name] for name in steering.interfaces if name in indexes})
    for route in steering.routes:
        if "oif" not in route:
            continue
        oif = cast(int, route["oif"])
        now = moved.get(oif, oif)
        if now is not None:
            route["oif"] = now
            yield route


def _default_route_of(route: dict[str, object]) -> DefaultRoute:
    """``route`` (a default route :func:`steer` installs) as :func:`default_routes` reads it from the kernel."""
    family = int(route["family"])  # type: ignore[call-overload]
    gateway = socket.inet_pton(family, str(route["gateway"])) if "gateway" in route else None
    return family, int(route["table"]), int(route["oif"]), gateway  # type: ignore[call-overload]


def route_icmp_from(ipr: IPRoute, steering: Steering, family: int, source: str, table: int | None,
                    priority: int) -> None:
    """Send the ICMP (ICMPv6) packets the node itself sends from ``source`` by ``table``, or drop them (None):
    ``iif lo from <source> ipproto icmp lookup <table>`` or ``... blackhole`` (``pmip6.dataplane.kernel_errors``)."""
    rule: dict[str, object] = {"family": family, "iifname": "lo", "src": source,
                               "ip_proto": _ICMP_PROTOCOLS[family], "priority": priority, "protocol": RTPROT_PMIP6}
    if table is None:
        rule["action"] = FR_ACT_BLACKHOLE
    else:
        rule["table"] = table
    with naming_netlink(_rule_text(rule)):
        _add_rule(ipr, rule)
    steering.rules.append(rule)


def add_host_addresses(ipr: IPRoute, interface: str, addresses: Iterable[str]) -> None:
    """Give ``interface`` each of ``addresses`` alone (/32, /128; IPv6 without duplicate address detection and
    without a prefix route), as a second holder of an address the node has elsewhere."""
    index = interface_index(ipr, interface)
    for address in addresses:
        ipv6 = ":" in address
        with naming_netlink(f"address {address} on {interface}"):
            try:
                ipr.addr("add", index=index, family=socket.AF_INET6 if ipv6 else socket.AF_INET, address=address,
                         prefixlen=128 if ipv6 else 32, IFA_FLAGS=_NODAD | _NOPREFIXROUTE if ipv6 else 0)
            except NetlinkError as error:
                if error.code != errno.EEXIST:
                    raise


@dataclass(slots=True)
class HeldAddresses:
    """The addresses one access interface holds for its sessions: IPv4 default routers (RFC 5844 section 3.2.3.2) and
    link-local addresses from the LMA (RFC 5213 6.9.1.2 item 15)."""

    held: set[str] = field(default_factory=set)
    """Every address of the interface last seen, pmip6's or the operator's (or the kernel's own link-local one)."""
    added: set[str] = field(default_factory=set)
    """Those pmip6 added (tagged :data:`RTPROT_PMIP6`) or took over from an earlier run: :func:`release_addresses`
    removes these, never the others."""


def hold_addresses(ipr: IPRoute, interface: str, wanted: Iterable[str], state: HeldAddresses) -> None:
    """Give ``interface`` each of ``wanted`` it does not hold, tagged :data:`RTPROT_PMIP6` (IFA_PROTO, kept since Linux
    6.3). An IPv4 default router alone (/32): the MAG "SHOULD configure this address on its interface and respond to
    any Address Resolution Protocol (ARP) requests sent by the mobile node" (RFC 5844 section 3.2.3.2). A link-local
    address from the LMA as fe80::/64 without duplicate address detection (IFA_F_NODAD): the MAG "SHOULD configure
    that link-local address on that point-to-point link" (RFC 5213 6.9.1.2 item 15), which the LMA generated for it
    (6.8), and sends its RAs from it at once. The interface's addresses are read in one dump
    (``pmip6.dataplane.address_dump``): one it holds already is left as it is, and one tagged :data:`RTPROT_PMIP6` is
    taken as pmip6's (an earlier run killed before it removed it), whether a session still needs it or not; ``state``
    records them all, and what was added before a failure."""
    _hold(ipr, interface, interface_index(ipr, interface), wanted, state, addresses(ipr))


def restore_addresses(ipr: IPRoute, held: Mapping[str, tuple[Iterable[str], HeldAddresses]]) -> None:
    """After an address or link notification: give each interface of ``held`` back an address it lost (flushed by hand
    or by a tool, an IPv6 one at an administrative down, the interface created anew), as :func:`hold_addresses` does,
    with one dump of the namespace's addresses for them all, so that a notification costs a dump and an address write
    per address missing; the write's own notification finds nothing missing. An interface that is gone is skipped;
    every interface is tried, and the first error is raised after."""
    indexes = interface_indexes(ipr)
    found = addresses(ipr)
    failed: OSError | None = None
    for interface, (wanted, state) in held.items():
        if (index := indexes.get(interface)) is None:
            continue
        try:
            _hold(ipr, interface, index, wanted, state, found)
        except OSError as error:
            failed = failed or error
    if failed is not None:
        raise failed


def _held_form(address: str) -> tuple[int, int, int]:
    """How :func:`hold_addresses` configures ``address``: its family, prefix length and IFA_FLAGS."""
    if ":" in address:
        return socket.AF_INET6, 64, _NODAD
    return socket.AF_INET, 32, 0


def _hold(ipr: IPRoute, interface: str, index: int, wanted: Iterable[str], state: HeldAddresses,
          found: Iterable[InterfaceAddress]) -> None:
    """:func:`hold_addresses` of interface ``index``, whose addresses are among ``found``: ``state.held`` becomes what
    it holds now."""
    state.held = set()
    for present in found:
        if present.index == index:
            if present.protocol == RTPROT_PMIP6:
                state.added.add(present.address)
            state.held.add(present.address)
    for address in wanted:
        if address in state.held:
            continue
        family, length, flags = _held_form(address)
        with naming_netlink(f"address {address}/{length} on {interface}"):
            try:
                ipr.addr("add", index=index, family=family, address=address, prefixlen=length, IFA_FLAGS=flags,
                         IFA_PROTO=RTPROT_PMIP6)
            except NetlinkError as error:
                if error.code != errno.EEXIST:
                    raise
            else:
                state.added.add(address)
        state.held.add(address)


def release_addresses(ipr: IPRoute, interface: str, state: HeldAddresses) -> None:
    """Remove from ``interface`` the addresses pmip6 added (``state.added``); one already gone, or the interface, is
    skipped."""
    try:
        index = interface_index(ipr, interface)
    except OSError:
        return  # the interface is gone, and its addresses with it
    for address in state.added:
        family, length, _flags = _held_form(address)
        with naming_netlink(f"address {address}/{length} on {interface}"):
            try:
                ipr.addr("del", index=index, family=family, address=address, prefixlen=length)
            except NetlinkError as error:
                if error.code not in (errno.EADDRNOTAVAIL, errno.ENODEV):
                    raise


def _add_rule(ipr: IPRoute, rule: dict[str, object]) -> None:
    """Add ``rule``, first removing what an earlier run left for its interface and source: a rule at its priority
    that does something else (looks up another table, or drops) or is not tagged :data:`RTPROT_PMIP6` (an earlier
    pmip6's), and a pmip6 rule at another priority (an earlier ``rule_priority``); then the pmip6 routes of the tables
    those looked up that no rule looks up any more. One that exists as wanted (the kernel answers EEXIST only for an
    identical rule) is kept. The rules are read in one raw dump of the rule's family (``pmip6.dataplane.rule_dump``);
    the writes go through pyroute2."""
    kept: set[int] = {rule["table"]} if "table" in rule else set()  # type: ignore[arg-type]
    orphaned: set[int] = set()
    for found in rules(ipr, rule["family"]):  # type: ignore[arg-type]
        table = found.table if found.action == FR_ACT_TO_TBL else None
        if not _left_before(found, table, rule):
            if table is not None:
                kept.add(table)
            continue
        old: dict[str, object] = {"family": rule["family"], "priority": found.priority, "iifname": rule["iifname"]}
        if "src" in rule:
            old["src"] = rule["src"]
        if found.protocol:
            old["protocol"] = found.protocol
        old.update({"table": table} if table is not None else {"action": found.action})
        _ignore_missing(lambda: ipr.rule("del", **old))
        if table is not None:
            orphaned.add(table)
    for table in orphaned - kept:
        _ignore_missing(lambda: ipr.flush_routes(family=rule["family"], table=table, proto=RTPROT_PMIP6))
    try:
        ipr.rule("add", **rule)
    except NetlinkError as error:
        if error.code != errno.EEXIST:
            raise
    if "ip_proto" in rule:
        _require_protocol_selector(ipr, rule)


def _left_before(found: Rule, table: int | None, rule: dict[str, object]) -> bool:
    """Whether ``found`` (looking up ``table``, None for another action) is what an earlier run left for ``rule``'s
    interface and source: at ``rule``'s priority anything but ``rule`` itself as pmip6 installs it, at another
    priority a pmip6 rule (:data:`RTPROT_PMIP6`); anyone else's rule at another priority is left alone."""
    if found.iifname != rule["iifname"] or found.src != rule.get("src"):
        return False
    if found.priority != rule["priority"]:
        return found.protocol == RTPROT_PMIP6
    return ((table, found.action, found.protocol)
            != (rule.get("table"), rule.get("action", FR_ACT_TO_TBL), RTPROT_PMIP6))


def _require_protocol_selector(ipr: IPRoute, rule: dict[str, object]) -> None:
    """Check that the kernel kept ``rule``'s ``ipproto`` selector (FRA_IP_PROTO): Linux before 4.17 ignores an
    attribute it does not know rather than refusing it, and the rule would match every protocol (a blackhole
    would drop everything the node sends from the address). If it did not, remove the rule and fail."""
    if not any(found.src == rule["src"] and found.ip_proto == rule["ip_proto"] for found in _installed(ipr, rule)):
        _ignore_missing(lambda: ipr.rule("del", **rule))
        raise NetlinkError(errno.EOPNOTSUPP, "the kernel ignored the ipproto selector (it needs Linux 4.17 or "
                                             "later), so the rule would match every protocol; removed")


def keeps_rule_protocol(ipr: IPRoute, steering: Steering) -> bool:
    """Whether the kernel kept the protocol (FRA_PROTOCOL, :data:`RTPROT_PMIP6`) of ``steering``'s first rule, read
    back as :func:`_require_protocol_selector` reads FRA_IP_PROTO: Linux before 4.17 ignores the attribute, and
    the rules it installs cannot be told from anyone else's after a restart. They work all the same."""
    return any(found.protocol == RTPROT_PMIP6 for found in _installed(ipr, steering.rules[0]))


def _installed(ipr: IPRoute, rule: dict[str, object]) -> Iterator[Rule]:
    """The rules of ``rule``'s family in the kernel at its priority for its interface, read in one raw dump."""
    return (found for found in rules(ipr, rule["family"])  # type: ignore[arg-type]
            if found.priority == rule["priority"] and found.iifname == rule["iifname"])


def unsteer(ipr: IPRoute, steering: Steering) -> None:
    """Remove what :func:`steer` installed; what is already gone (e.g. with its device) is skipped."""
    for rule in steering.rules:
        with naming_netlink(_rule_text(rule)):
            _ignore_missing(lambda: ipr.rule("del", **rule))
    for route in steering.routes:
        with naming_netlink(_route_text(route)):
            _ignore_missing(lambda: ipr.route("del", **route))
    steering.rules.clear()
    steering.routes.clear()


def _rule_text(rule: dict[str, object]) -> str:
    """``rule iif pmip-a lookup 100 priority 1000 (IPv4)``, ``rule iif lo from 10.0.0.253 ipproto 1 blackhole
    priority 1000 (IPv4)``, as ``ip rule`` shows them, for error messages."""
    selector = f"iif {rule['iifname']}"
    if "src" in rule:
        selector += f" from {rule['src']} ipproto {rule['ip_proto']}"
    action = f"lookup {rule['table']}" if "table" in rule else "blackhole"
    family = _FAMILY_NAMES[rule["family"]]  # type: ignore[index]
    return f"rule {selector} {action} priority {rule['priority']} ({family})"


def _route_text(route: dict[str, object]) -> str:
    """``route 0.0.0.0/0 table 100 via 10.0.0.1``, ``route unreachable 0.0.0.0/0 table 100 metric 4294967295``, for
    error messages."""
    kind = f"{route['type']} " if "type" in route else ""
    metric = f" metric {route['priority']}" if "priority" in route else ""
    return (f"route {kind}{route['dst']} table {route['table']}" + (f" via {route['gateway']}" if "gateway" in route
                                                                      else "") + metric)


def _ignore_missing(request: Callable[[], object]) -> None:
    try:
        request()
    except NetlinkError as error:
        if error.code not in _MISSING:
            raise
