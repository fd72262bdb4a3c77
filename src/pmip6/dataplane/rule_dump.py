"""The policy rules of one address family (``ip rule``), read in one RTM_GETRULE dump (``pmip6.dataplane.netlink_dump``)
of which only struct fib_rule_hdr and the attributes pmip6 compares are decoded: a routing context opening reads them
to take over what an earlier run left (``pmip6.dataplane.routing``, docs/dataplane.md "After a crash"). pyroute2
decoded every attribute of every rule there, some hundreds of rules at a MAG with many access interfaces, at each
context opening, and left the freed memory of the decoding in the malloc arena of the pump's netlink thread
(walkthrough 14, docs/reliability.md "Long runs of the daemons")."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pyroute2 import IPRoute

from pmip6.dataplane.netlink_dump import RTM_GETRULE, RULE_MESSAGE, U32, Message, attributes, dump

_FRA_SRC, _FRA_IIFNAME, _FRA_PRIORITY, _FRA_TABLE, _FRA_PROTOCOL, _FRA_IP_PROTO = 2, 3, 6, 15, 21, 22
"""<linux/fib_rules.h>."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A policy rule as the kernel holds it, in the fields pmip6 compares: the attributes the kernel leaves out
    read as their defaults (priority, protocol and ipproto 0, no interface or source)."""

    priority: int
    iifname: str | None
    src: str | None
    """The source address selector (FRA_SRC) as ``ip rule`` shows it, without its length."""
    action: int
    """FR_ACT_TO_TBL (1), FR_ACT_BLACKHOLE (6), ... (<linux/fib_rules.h>)."""
    table: int
    """FRA_TABLE, else the header's table; 0 for a rule that looks up no table."""
    protocol: int
    """FRA_PROTOCOL: who installed the rule (``proto 213``: pmip6)."""
    ip_proto: int
    """FRA_IP_PROTO: the ``ipproto`` selector, 0 for none."""


def rules(ipr: IPRoute, family: int) -> list[Rule]:
    """The policy rules of ``family`` (AF_INET, AF_INET6) in ``ipr``'s namespace, in the kernel's order (by
    priority), read in one dump; taken even if changes interrupted every reading, as pyroute2 took it (only rules
    another program or thread changes meanwhile can interrupt it)."""
    return [_rule(message, family) for message in dump(ipr, RTM_GETRULE, RULE_MESSAGE, family).messages
            if message[0][0] == family]


def _rule(message: Message, family: int) -> Rule:
    (_, _, _, _, table, _, _, action, _), found = message
    priority = protocol = ip_proto = 0
    iifname = src = None
    for attribute, value in attributes(found):
        if attribute == _FRA_PRIORITY:
            (priority,) = U32.unpack(value)
        elif attribute == _FRA_IIFNAME:
            iifname = bytes(value).split(b"\0", 1)[0].decode()
        elif attribute == _FRA_SRC:
            src = socket.inet_ntop(family, value)
        elif attribute == _FRA_TABLE:
            (table,) = U32.unpack(value)
        elif attribute == _FRA_PROTOCOL:
            protocol = value[0]
        elif attribute == _FRA_IP_PROTO:
            ip_proto = value[0]
    return Rule(priority, iifname, src, action, table, protocol, ip_proto)
