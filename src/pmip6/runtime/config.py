"""The daemons' TOML configuration files, validated into engine settings (docs/configuration.md).

``load_lma_config(path)`` and ``load_mag_config(path)`` return everything a daemon needs or raise
:class:`ConfigError` naming the key path. Relative paths (``state``, ``control``) are relative to the
configuration file's folder. The ``[dataplane]`` table is handed on unread to the data plane's own parser.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from pmip6.core.binding_error import DEFAULT_BINDING_ERROR_BURST, DEFAULT_BINDING_ERROR_RATE
from pmip6.core.events import Address, Peer
from pmip6.core.heartbeat import DEFAULT_MISSING_HEARTBEATS_ALLOWED, HeartbeatSettings
from pmip6.core.lma_settings import DhcpSupportMode, LmaSettings, MobileNodeProfile, Tenant
from pmip6.core.mag_settings import TIMESTAMP_VALIDITY_WINDOW, MagGreMode, MagSettings
from pmip6.core.nai import nai_key
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.core.revocation_sender import MIN_INIT_DELAY_BRIS, RevocationTiming
from pmip6.runtime.config_reader import ConfigError, Table, parse_endpoint, refuse_ipv6
from pmip6.wire.messages import LIFETIME_UNIT_SECONDS
from pmip6.wire.numbers import PMIP6_CONTROL_PORT
from pmip6.wire.ip import is_unicast
from pmip6.wire.option_codec import MAX_MN_IDENTIFIER_LENGTH

__all__ = ["ConfigError", "LmaConfig", "MagConfig", "changed_keys", "load_lma_config", "load_mag_config",
           "parse_lma_peer"]

MAX_LIFETIME_SECONDS = 0xFFFF * LIFETIME_UNIT_SECONDS
"""The largest lifetime a PBU/PBA can carry: 65535 units of 4 s (RFC 6275 section 6.1.7)."""

DATAPLANE_TABLE = "dataplane"
MAX_HEARTBEAT_INTERVAL = 3600.0
"""RFC 5847 section 5: HEARTBEAT_INTERVAL "SHOULD NOT be set to less than 30 seconds or more than 3600 seconds"."""
RECOMMENDED_MIN_HEARTBEAT_INTERVAL = 30.0
"""Shorter intervals are accepted (from 1 s, for test beds) with a warning at start and reload."""
MAX_MISSING_HEARTBEATS_ALLOWED = 1000
"""RFC 5847 section 5 sets no bound; more would leave a dead peer unreported for hours even at 1-second heartbeats
(and for years at 3600 s): a typo."""


@dataclass(frozen=True, slots=True)
class LmaConfig:
    """A validated lma.toml."""

    settings: LmaSettings
    ipv4_address: IPv4Address | None
    udp_port: int
    ipv6_address: IPv6Address | None
    state: Path | None
    control: Path
    metrics: tuple[str, int] | None
    dataplane: dict[str, Any] | None
    path: Path
    unauthorized_answers: tuple[float, int]
    """``unauthorized_answer_rate`` and ``unauthorized_answer_burst``: the token bucket of the LMA's answers (PBAs,
    Binding Errors) to sources that are no ``[[mag]]`` (runtime/lma_daemon.py)."""
    dhcp_server: tuple[IPv4Address, int] | None = None
    """``dhcp_server``: where the LMA's DHCP server for the MAGs' relay agents listens (RFC 5844 3.4.2,
    runtime/anchor_dhcp.py); None: it runs none."""


@dataclass(frozen=True, slots=True)
class MagConfig:
    """A validated mag.toml. ``settings.lma.port`` set means IPv4/UDP transport, None raw IPv6."""

    settings: MagSettings
    ipv4_address: IPv4Address | None
    ipv6_address: IPv6Address | None
    udp_port: int
    control: Path
    metrics: tuple[str, int] | None
    shutdown_timeout: float
    dataplane: dict[str, Any] | None
    path: Path


def changed_keys(old: LmaConfig | MagConfig, new: LmaConfig | MagConfig, keys: Mapping[str, str]) -> list[str]:
    """The configuration keys (``keys``: attribute path -> key, e.g. ``"settings.lma": "mag.lma"``) whose value
    differs between two readings of a file."""
    return [key for attribute, key in keys.items() if attrgetter(attribute)(old) != attrgetter(attribute)(new)]


def _read_file(path: Path) -> tuple[Table, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), f"cannot read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(str(path), "not valid TOML: arrays or tables nested too deeply") from None
    return Table(data, "", path.resolve().parent), data


def _dataplane(root: Table) -> dict[str, Any] | None:
    """The ``[dataplane]`` table, unread: runtime/dataplane_config.py parses it."""
    if not root.has(DATAPLANE_TABLE):
        return None
    return root.value(DATAPLANE_TABLE, dict)


def load_lma_config(path: Path) -> LmaConfig:
    """Read and validate an LMA configuration file (docs/configuration.md, "lma.toml")."""
    root, data = _read_file(path)
    _reject_unknown_tables(data, {"lma", "policy", "mag", "tenant", "mn", DATAPLANE_TABLE})
    lma = root.table("lma")
    ipv4_address = lma.ipv4_address("ipv4_address", None)
    udp_port = lma.number("udp_port", int, PMIP6_CONTROL_PORT, 1, 65535)
    ipv6_address = lma.ipv6_address("ipv6_address", None)
    if ipv4_address is None and ipv6_address is None:
        raise ConfigError("lma.ipv4_address", "set ipv4_address, ipv6_address or both (the LMAA to listen on)"
                          + lma.misspelling("ipv4_address", "ipv6_address"))
    tlv_header = lma.value("tlv_header", bool, True)
    max_lifetime = lma.number("max_lifetime", int, 3600, 4, MAX_LIFETIME_SECONDS)
    min_delay_before_bce_delete = lma.number("min_delay_before_bce_delete", float, 10.0, 0.0)
    max_delay_before_new_bce_assign = lma.number("max_delay_before_new_bce_assign", float, 1.5, 0.0)
    timestamp_validity_window = lma.number("timestamp_validity_window", float, 0.3, 0.0)
    mn_generated_timestamps = lma.value("mobile_node_generated_timestamp_in_use", bool, False)
    accept_forced_udp = lma.value("accept_forced_udp_encapsulation", bool, False)
    binding_error_rate, binding_error_burst = _binding_error_limit(lma)
    unauthorized_answers = (lma.number("unauthorized_answer_rate", float, DEFAULT_BINDING_ERROR_RATE, 0.0),
                            lma.number("unauthorized_answer_burst", int, DEFAULT_BINDING_ERROR_BURST, 0))
    binding_revocation = lma.value("binding_revocation", bool, False)
    revocation_timing = _revocation_timing(lma)
    heartbeat = _heartbeat(lma)
    max_bindings = _max_bindings(lma)
    dhcp_support_mode = lma.optional_choice("dhcp_support_mode", DhcpSupportMode)
    state = lma.optional_path("state")
    control, metrics = lma.path("control", "lma.sock"), lma.endpoint("metrics")
    dhcp_server = lma.parsed("dhcp_server", _ipv4_endpoint, 'an IPv4 "address:port" such as "192.0.2.2:67"', None)
    lma.finish()

    tenants = _tenants(root)
    tenant_names = {tenant.name for tenant in tenants}
    policy = root.table("policy", required=False)
    default_policy = policy.choice("gre", GrePolicy, GrePolicy.OPTIONAL)
    default_tenant = policy.optional("default_tenant", str)
    if default_tenant is not None and default_tenant not in tenant_names:
        raise ConfigError("policy.default_tenant", f"no [[tenant]] is named {default_tenant!r}")
    policy.finish()
    per_mag, global_revocation_mags, mag_max_bindings = _authorized_mags(root, binding_revocation)
    profiles, per_mn = _mobile_nodes(root, tenant_names)

    dataplane = _dataplane(root)
    settings = LmaSettings(
        authorized_mags=frozenset(per_mag),
        tenants=tuple(tenants),
        mobile_nodes=tuple(profiles),
        default_tenant=default_tenant,
        gre_policy=LmaGrePolicy(
            default=default_policy,
            per_mag={address: gre for address, gre in per_mag.items() if gre is not None},
            per_mn=per_mn),
        tlv_header=tlv_header,
        max_lifetime=max_lifetime,
        min_delay_before_bce_delete=min_delay_before_bce_delete,
        max_delay_before_new_bce_assign=max_delay_before_new_bce_assign,
        timestamp_validity_window=timestamp_validity_window,
        mobile_node_generated_timestamp_in_use=mn_generated_timestamps,
        accept_forced_udp_encapsulation=accept_forced_udp,
        binding_error_rate=binding_error_rate,
        binding_error_burst=binding_error_burst,
        binding_revocation=binding_revocation,
        revocation_timing=revocation_timing,
        global_revocation_mags=global_revocation_mags,
        heartbeat=heartbeat,
        max_bindings=max_bindings,
        mag_max_bindings=mag_max_bindings,
        dhcp_support_mode=dhcp_support_mode,
    )
    return LmaConfig(settings, ipv4_address, udp_port, ipv6_address, state, control, metrics, dataplane, path,
                     unauthorized_answers, dhcp_server)


def _ipv4_endpoint(text: str) -> tuple[IPv4Address, int]:
    """``[lma] dhcp_server``: a unicast IPv4 ``address:port`` (DHCP is IPv4; :func:`parse_endpoint`'s form)."""
    refuse_ipv6(text)
    host, port = parse_endpoint(text)
    address = IPv4Address(host)
    if not is_unicast(address):
        raise ValueError("not a unicast address")
    return address, port


def _revocation_timing(table: Table) -> RevocationTiming:
    """RFC 5846 section 11's variables, under their names: BRIMaxRetriesNumber, InitMINDelayBRIs (at least
    0.5 s), MAX_BRACK_TIMEOUT (at least InitMINDelayBRIs). In ``[lma]`` and, for its global revocation, ``[mag]``."""
    default = RevocationTiming()
    initial_delay = table.number("init_min_delay_bris", float, default.initial_delay, MIN_INIT_DELAY_BRIS)
    return RevocationTiming(
        max_retries=table.number("bri_max_retries_number", int, default.max_retries, 0, 1000),
        initial_delay=initial_delay,
        max_delay=table.number("max_brack_timeout", float, max(default.max_delay, initial_delay), initial_delay),
    )


def _authorized_mags(root: Table, binding_revocation: bool) -> tuple[dict[Address, GrePolicy | None],
                                                                      dict[Address, bytes], dict[Address, int]]:
    """``[[mag]]``: every authorized Proxy-CoA with its MAG-LMA pair policy (None: the LMA default), those
    authorized for global revocation (``global_revocation``) with the identity (``id``) their BRIs carry (RFC 5846
    8.2 and 13), and those with a ``max_bindings``. ``global_revocation`` without ``[lma] binding_revocation`` could
    never take effect (every BRI is refused then), so it is an error, as it is without ``id``."""
    authorized: dict[Address, GrePolicy | None] = {}
    global_revocation: dict[Address, bytes] = {}
    max_bindings: dict[Address, int] = {}
    for mag in root.tables("mag"):
        address = mag.address("address")
        if address in authorized:
            raise ConfigError(mag.key("address"), f"MAG {address} is listed twice")
        authorized[address] = mag.optional_choice("gre", GrePolicy)
        identity = _optional_nai(mag, "id")  # one MAG with several Proxy-CoAs: a [[mag]] each, the same id
        if mag.value("global_revocation", bool, False):
            if identity is None:
                raise ConfigError(mag.key("global_revocation"), "needs id: the identity this MAG puts in the MN-ID "
                                                                "option of its global revocations (RFC 5846 9.2)"
                                                                + mag.misspelling("id"))
            if not binding_revocation:
                raise ConfigError(mag.key("global_revocation"), "needs [lma] binding_revocation = true: without it "
                                                                "the LMA refuses every BRI (130)")
            global_revocation[address] = identity
        limit = _max_bindings(mag)
        if limit is not None:
            max_bindings[address] = limit
        mag.finish()
    return authorized, global_revocation, max_bindings


def _max_bindings(table: Table) -> int | None:
    """``max_bindings``: the most sessions the LMA, a tenant or a MAG may hold (:mod:`pmip6.core.binding_limits`);
    None when absent (no limit)."""
    return table.optional_number("max_bindings", int, 1)


def _optional_nai(table: Table, name: str) -> bytes | None:
    """An NAI that an MN Identifier option carries (an MN's, or a MAG's identity in RFC 5846 9.2), as UTF-8: not
    empty, at most MAX_MN_IDENTIFIER_LENGTH octets (RFC 4283 section 3); None when absent."""
    text = table.optional(name, str)
    if text is None:
        return None
    if not text:
        raise ConfigError(table.key(name), "must not be empty")
    identifier = text.encode()
    if len(identifier) > MAX_MN_IDENTIFIER_LENGTH:
        raise ConfigError(table.key(name), f"is {len(identifier)} octets in UTF-8; the MN Identifier option "
                                           f"(RFC 4283 section 3) carries at most {MAX_MN_IDENTIFIER_LENGTH}")
    return identifier


def _mobile_nodes(root: Table, tenant_names: set[str]) -> tuple[list[MobileNodeProfile], dict[bytes, GrePolicy]]:
    """``[[mn]]``: the mobile node profiles and their per-MN GRE policies. Two ids naming the same mobile node, equal
    or differing only in the case of an ASCII realm (RFC 7542 section 3, :mod:`pmip6.core.nai`), are refused."""
    profiles: list[MobileNodeProfile] = []
    per_mn: dict[bytes, GrePolicy] = {}
    listed: dict[bytes, tuple[str, bytes]] = {}
    for mn in root.tables("mn"):
        identifier = _optional_nai(mn, "id")
        if identifier is None:
            raise ConfigError(mn.key("id"), "required key is missing" + mn.misspelling("id"))
        first_key, first = listed.setdefault(nai_key(identifier), (mn.key("id"), identifier))
        if first_key != mn.key("id"):
            same = "" if first == identifier else (f" as {first.decode()!r} (an NAI's realm is compared without "
                                                   "case, RFC 7542 section 3)")
            raise ConfigError(mn.key("id"), f"mobile node {identifier.decode()!r} is listed twice: {first_key} "
                                            f"names it{same}")
        tenant = mn.value("tenant", str)
        if tenant not in tenant_names:
            raise ConfigError(mn.key("tenant"), f"no [[tenant]] is named {tenant!r}")
        gre = mn.optional_choice("gre", GrePolicy)
        if gre is not None:
            per_mn[identifier] = gre
        profiles.append(MobileNodeProfile(identifier, tenant))
        mn.finish()
    return profiles, per_mn


def _tenants(root: Table) -> list[Tenant]:
    tenants: list[Tenant] = []
    for table in root.tables("tenant"):
        name = table.value("name", str)
        if not name:
            raise ConfigError(table.key("name"), "must not be empty")
        if any(tenant.name == name for tenant in tenants):
            raise ConfigError(table.key("name"), f"tenant {name!r} is defined twice")
        ipv4_pool = table.ipv4_network("ipv4_pool")
        ipv6_prefix_pool = table.ipv6_network("ipv6_prefix_pool")
        if ipv4_pool is None and ipv6_prefix_pool is None:
            raise ConfigError(table.key("ipv4_pool"), "a tenant needs ipv4_pool, ipv6_prefix_pool or both"
                              + table.misspelling("ipv4_pool", "ipv6_prefix_pool"))
        minimum = ipv6_prefix_pool.prefixlen if ipv6_prefix_pool is not None else 1
        hnp_length = table.number("hnp_length", int, 64, minimum, 128)
        if ipv4_pool is not None and ipv4_pool.num_addresses < 4:
            raise ConfigError(table.key("ipv4_pool"),
                              "needs room for a default router and home addresses (/30 or larger)")
        max_bindings = _max_bindings(table)
        table.finish()
        tenants.append(Tenant(name, ipv4_pool, ipv6_prefix_pool, hnp_length, max_bindings))
    return tenants


def parse_lma_peer(text: str) -> Peer:
    """``a.b.c.d[:port]`` -> IPv4/UDP transport (RFC 5844); ``v6`` or ``[v6]`` -> raw IPv6 Mobility Header.
    The LMAA is a unicast address: the PBAs come from it."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or rest:
            raise ValueError("signaling over IPv6 is raw MH: give the address alone, without a port")
        peer = Peer(IPv6Address(host))
    elif text.count(":") > 1:
        peer = Peer(IPv6Address(text))
    else:
        host, _, port = text.partition(":")
        if port and not (port.isascii() and port.isdigit()):
            raise ValueError("the port is a decimal number")
        number = int(port) if port else PMIP6_CONTROL_PORT
        if not 0 < number < 65536:
            raise ValueError("port out of range")
        peer = Peer(IPv4Address(host), number)
    if not is_unicast(peer.address):
        raise ValueError("not a unicast address")
    return peer


def load_mag_config(path: Path) -> MagConfig:
    """Read and validate a MAG configuration file (docs/configuration.md, "mag.toml")."""
    root, data = _read_file(path)
    _reject_unknown_tables(data, {"mag", DATAPLANE_TABLE})
    mag = root.table("mag")
    ipv4_address = mag.ipv4_address("ipv4_address", None)
    ipv6_address = mag.ipv6_address("ipv6_address", None)
    lma = mag.parsed("lma", parse_lma_peer, 'an LMA address: "a.b.c.d[:port]" (IPv4/UDP) or "[v6]" (IPv6)')
    if lma.port is not None and ipv4_address is None:
        raise ConfigError("mag.ipv4_address", "required: the IPv4-Proxy-CoA for signaling over IPv4/UDP"
                          + mag.misspelling("ipv4_address"))
    if lma.port is None and ipv6_address is None:
        raise ConfigError("mag.ipv6_address", "required: the Proxy-CoA for signaling over IPv6"
                          + mag.misspelling("ipv6_address"))
    proxy_coa: Address = ipv4_address if lma.port is not None else ipv6_address  # type: ignore[assignment]
    initial_timeout = mag.number("initial_bindack_timeout", float, 1.0, 0.01)
    binding_error_rate, binding_error_burst = _binding_error_limit(mag)
    identity = _optional_nai(mag, "id")
    global_revocation = mag.value("global_revocation", bool, False)
    if global_revocation and identity is None:
        raise ConfigError("mag.global_revocation", "needs id: the identity this MAG puts in the MN-ID option of its "
                                                   "global revocation (RFC 5846 9.2)" + mag.misspelling("id"))
    shutdown_timeout = mag.number("shutdown_timeout", float, 2.0, 0.0)
    settings = MagSettings(
        proxy_coa=proxy_coa,
        lma=lma,
        gre=mag.choice("gre", MagGreMode, MagGreMode.KEYS),
        tlv=mag.value("tlv", bool, False),
        force_udp_encapsulation=mag.value("force_udp_encapsulation", bool, False),
        lifetime=mag.number("lifetime", int, 3600, 4, MAX_LIFETIME_SECONDS),
        use_timestamps=mag.value("use_timestamps", bool, True),
        initial_bindack_timeout=initial_timeout,
        max_bindack_timeout=mag.number("max_bindack_timeout", float, 32.0, initial_timeout),
        max_retransmissions=mag.number("max_retransmissions", int, 6, 0),
        refresh_margin=mag.number("refresh_margin", float, 0.2, 0.01, 0.9),  # 0 would refresh as it expires
        binding_error_rate=binding_error_rate,
        binding_error_burst=binding_error_burst,
        global_revocation=global_revocation,
        identity=identity,
        revocation_timing=_revocation_timing(mag),
        heartbeat=_heartbeat(mag),
        timestamp_validity_window=mag.number("timestamp_validity_window", float, TIMESTAMP_VALIDITY_WINDOW, 0.0),
    )
    udp_port = mag.number("udp_port", int, PMIP6_CONTROL_PORT, 0, 65535)
    control, metrics = mag.path("control", "mag.sock"), mag.endpoint("metrics")
    mag.finish()
    dataplane = _dataplane(root)
    return MagConfig(settings, ipv4_address, ipv6_address, udp_port, control, metrics, shutdown_timeout,
                     dataplane, path)


def _binding_error_limit(table: Table) -> tuple[float, int]:
    """``binding_error_rate`` and ``binding_error_burst``: the Binding Error token bucket (RFC 6275 9.3.3)."""
    return (table.number("binding_error_rate", float, DEFAULT_BINDING_ERROR_RATE, 0.0),
            table.number("binding_error_burst", int, DEFAULT_BINDING_ERROR_BURST, 0))


def _heartbeat(table: Table) -> HeartbeatSettings:
    """``heartbeat_interval`` (RFC 5847's HEARTBEAT_INTERVAL in seconds: 0, the default, turns the requests off; else
    1 to 3600) and ``missing_heartbeats_allowed`` (MISSING_HEARTBEATS_ALLOWED, 1 to 1000)."""
    interval = table.value("heartbeat_interval", float, 0.0)
    if not (interval == 0 or 1 <= interval <= MAX_HEARTBEAT_INTERVAL):  # NaN fails both
        raise ConfigError(table.key("heartbeat_interval"),
                          f"must be 0 (off) or between 1 and {MAX_HEARTBEAT_INTERVAL:g} seconds, got {interval:g}")
    missing = table.number("missing_heartbeats_allowed", int, DEFAULT_MISSING_HEARTBEATS_ALLOWED, 1,
                           MAX_MISSING_HEARTBEATS_ALLOWED)
    return HeartbeatSettings(interval, missing)


def _reject_unknown_tables(data: dict[str, Any], known: set[str]) -> None:
    for name in data:
        if name not in known:
            raise ConfigError(name, f"unknown table or key; expected {', '.join(sorted(known))}")

