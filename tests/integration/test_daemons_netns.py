"""``pmip6 lma`` and ``pmip6 mag`` as real processes in two network namespaces joined by a veth pair.

Three MAG daemons (GRE modes keys / gre-only / off) on three Proxy-CoAs register mobile nodes with one LMA
over IPv4/UDP and over IPv6; ``pmip6 show bindings --json`` must agree on both sides (MAG downlink key =
LMA downlink key, LMA uplink key = MAG uplink key), tshark must decode the same keys from the daemons'
``--pcap`` files (``mip6.gre_key``), detach must remove both sides' state, and an LMA killed with SIGKILL
must come back with every binding and key, refreshes keeping the keys.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pytest

from pmip6.lab.daemons import spawn, wait_ready
from pmip6.lab.namespaces import Link, NamespaceSet, namespaces_available

pytestmark = [pytest.mark.netns, pytest.mark.slow]

PMIP6 = [sys.executable, "-m", "pmip6"]
MODES = ("keys", "gre-only", "off")
class Family(TypedDict):
    """The transport addresses of one IP family: the LMA's, the three MAGs', and their prefix length."""

    lma: str
    mags: list[str]
    plen: int


ADDRESSES: dict[str, Family] = {
    "ipv4": {"lma": "192.0.2.1", "mags": ["192.0.2.2", "192.0.2.3", "192.0.2.4"], "plen": 24},
    "ipv6": {"lma": "2001:db8:5::1", "mags": ["2001:db8:5::2", "2001:db8:5::3", "2001:db8:5::4"], "plen": 64},
}


@dataclass
class Namespaces:
    """Two namespaces, ``lma`` and ``mag``, joined by a veth pair carrying the addresses of ADDRESSES."""

    spaces: NamespaceSet
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def lma(self) -> str:
        return self.spaces.ns("lma")

    @property
    def mag(self) -> str:
        return self.spaces.ns("mag")

    def start(self, name: str, namespace: str, *arguments: str) -> subprocess.Popen[bytes]:
        process = spawn(arguments, netns=namespace, log=self.directory / f"{name}.log", cwd=self.directory)
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def namespaces(tmp_path: Path) -> Iterator[Namespaces]:
    reason = namespaces_available()
    if reason is not None:
        print(f"skipping: {reason}")
        pytest.skip(reason)
    with NamespaceSet(f"h5-{os.getpid()}") as spaces:
        lab = Namespaces(spaces, tmp_path)
        try:
            for node in ("lma", "mag"):
                spaces.create(node)
            spaces.add_link(Link(
                "lma", "veth0", tuple(f"{family['lma']}/{family['plen']}" for family in ADDRESSES.values()),
                "mag", "veth0", tuple(f"{address}/{family['plen']}" for family in ADDRESSES.values()
                                      for address in family["mags"])))
            yield lab
        finally:
            for process in lab.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)


def _wait_ready(socket_path: Path, process: subprocess.Popen[bytes], lab: Namespaces, name: str) -> None:
    wait_ready(socket_path, process, lab.directory / f"{name}.log")


def _lma_config(lab: Namespaces, transport: str) -> Path:
    family = ADDRESSES[transport]
    listen = f'ipv4_address = "{family["lma"]}"' if transport == "ipv4" else f'ipv6_address = "{family["lma"]}"'
    mags = "".join(f'[[mag]]\naddress = "{address}"\n' for address in family["mags"])
    path = lab.directory / "lma.toml"
    path.write_text(textwrap.dedent(f"""
        [lma]
        {listen}
        state = "lma.db"
        control = "lma.sock"
        min_delay_before_bce_delete = 0.5
        [policy]
        gre = "optional"
        default_tenant = "opA"
        [[tenant]]
        name = "opA"
        ipv4_pool = "10.0.0.0/24"
        ipv6_prefix_pool = "2001:db8:a::/48"
        [[tenant]]
        name = "opB"
        ipv4_pool = "10.0.0.0/24"
        ipv6_prefix_pool = "2001:db8:b::/48"
        [[tenant]]
        name = "opC"
        ipv4_pool = "10.3.0.0/24"
        ipv6_prefix_pool = "2001:db8:c::/48"
        [[mn]]
        id = "mn-keys-1@opB"
        tenant = "opB"
    """) + "".join(f'[[mn]]\nid = "mn-{mode}-{n}@opC"\ntenant = "opC"\n' for mode in MODES[1:] for n in (1, 2))
            + mags)
    return path


def _mag_config(lab: Namespaces, transport: str, index: int, mode: str, **extra: Any) -> Path:
    family = ADDRESSES[transport]
    address = family["mags"][index]
    if transport == "ipv4":
        lines = [f'ipv4_address = "{address}"', f'lma = "{family["lma"]}:5436"']
    else:
        lines = [f'ipv6_address = "{address}"', f'lma = "[{family["lma"]}]"']
    lines += [f'gre = "{mode}"', f'control = "mag-{mode}.sock"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path = lab.directory / f"mag-{mode}.toml"
    path.write_text("[mag]\n" + "\n".join(lines) + "\n")
    return path


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PMIP6, *arguments], capture_output=True, text=True, timeout=60)


def _bindings(socket_path: Path) -> dict[str, dict[str, Any]]:
    result = _cli("show", "bindings", "--control", str(socket_path), "--json")
    assert result.returncode == 0, result.stderr
    return {row["mn_id"]: row for row in json.loads(result.stdout)}


def _start_lab(lab: Namespaces, transport: str, **mag_extra: Any) -> None:
    lma = lab.start("lma", lab.lma, "lma", "--config", str(_lma_config(lab, transport)), "--pcap", "lma.pcap",
                    "--log-format", "json")
    _wait_ready(lab.directory / "lma.sock", lma, lab, "lma")
    for index, mode in enumerate(MODES):
        config = _mag_config(lab, transport, index, mode, **mag_extra)
        mag = lab.start(f"mag-{mode}", lab.mag, "mag", "--config", str(config), "--pcap", f"mag-{mode}.pcap")
        _wait_ready(lab.directory / f"mag-{mode}.sock", mag, lab, f"mag-{mode}")


def _attach(lab: Namespaces, mode: str, mn_id: str) -> subprocess.CompletedProcess[str]:
    return _cli("mag", "attach", "--control", str(lab.directory / f"mag-{mode}.sock"), "--mn-id", mn_id,
                "--att", "4", "--json")


def _tshark_keys(pcap: Path, transport: str) -> set[tuple[str, int, str]]:
    """(message type, GRE key, source) for every signaling frame carrying a keyed GRE Key option."""
    source = "ip.src" if transport == "ipv4" else "ipv6.src"
    result = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=/t", "-e", "mip6.mhtype",
                             "-e", "mip6.gre_key", "-e", source], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = set()
    for line in result.stdout.splitlines():
        mhtype, key, address = line.split("\t")
        if key:
            rows.add(("pbu" if mhtype == "5" else "pba", int(key), address))
    return rows


@pytest.mark.tshark
@pytest.mark.parametrize("transport", ["ipv4", "ipv6"])
def test_daemons_agree_on_keys_in_every_gre_mode_and_detach_clears_both_sides(namespaces: Namespaces,
                                                                              transport: str) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark")
    lab = namespaces
    _start_lab(lab, transport, **({"tlv": True} if transport == "ipv4" else {}))
    # opA and opB share an IPv4 pool, so their sessions need keys (RFC 5845 5.2); the others are opC's.
    mn_ids = {mode: [f"mn-{mode}-{n}@op{('B' if n == 1 else 'A') if mode == 'keys' else 'C'}" for n in (1, 2)]
              for mode in MODES}
    for mode, mns in mn_ids.items():
        for mn_id in mns:
            attached = _attach(lab, mode, mn_id)
            assert attached.returncode == 0, (attached.stdout, attached.stderr, lab.log(f"mag-{mode}"))
            assert json.loads(attached.stdout)["binding"]["gre"] == mode

    at_lma = _bindings(lab.directory / "lma.sock")
    assert len(at_lma) == 6
    expected_keys: set[tuple[str, int, str]] = set()
    lma_address = ADDRESSES[transport]["lma"]
    for index, (mode, mns) in enumerate(mn_ids.items()):
        at_mag = _bindings(lab.directory / f"mag-{mode}.sock")
        assert set(at_mag) == set(mns)
        for mn_id in mns:
            lma_row, mag_row = at_lma[mn_id], at_mag[mn_id]
            assert lma_row["gre"] == mag_row["gre"] == mode
            assert lma_row["downlink_key"] == mag_row["downlink_key"]
            assert lma_row["uplink_key"] == mag_row["uplink_key"]
            assert lma_row["proxy_coa"] == mag_row["proxy_coa"] == ADDRESSES[transport]["mags"][index]
            assert lma_row["ipv4_home"] == mag_row["ipv4_home"] and lma_row["hnp"] == mag_row["hnp"]
            assert lma_row["tlv"] == mag_row["tlv"] == (transport == "ipv4" and mode != "off")
            if mode == "keys":
                assert isinstance(lma_row["uplink_key"], int) and isinstance(lma_row["downlink_key"], int)
                expected_keys.add(("pbu", mag_row["downlink_key"], mag_row["proxy_coa"]))
                expected_keys.add(("pba", lma_row["uplink_key"], lma_address))
            else:
                assert lma_row["uplink_key"] is None and lma_row["downlink_key"] is None
    assert at_lma["mn-keys-1@opB"]["tenant"] == "opB" and at_lma["mn-keys-2@opA"]["tenant"] == "opA"
    assert at_lma["mn-keys-1@opB"]["ipv4_home"] == at_lma["mn-keys-2@opA"]["ipv4_home"]  # overlapping pools
    assert _tshark_keys(lab.directory / "lma.pcap", transport) == expected_keys
    assert _tshark_keys(lab.directory / "mag-keys.pcap", transport) == expected_keys

    for mode, mns in mn_ids.items():
        for mn_id in mns:
            detached = _cli("mag", "detach", "--control", str(lab.directory / f"mag-{mode}.sock"), "--mn-id", mn_id)
            assert detached.returncode == 0, detached.stdout + detached.stderr
        assert _bindings(lab.directory / f"mag-{mode}.sock") == {}
    deadline = time.monotonic() + 10  # MinDelayBeforeBCEDelete = 0.5 s
    while _bindings(lab.directory / "lma.sock") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _bindings(lab.directory / "lma.sock") == {}
    refused = _attach(lab, "gre-only", "mn-gre-only-3@opA")  # an opA session without keys: 163
    assert refused.returncode != 0 and json.loads(refused.stdout)["status_name"] == "GRE_KEY_OPTION_REQUIRED"
    stats = json.loads(_cli("show", "stats", "--control", str(lab.directory / "lma.sock"), "--json").stdout)
    assert stats["pba_sent"] == {"ACCEPTED": 12, "GRE_KEY_OPTION_REQUIRED": 1} and stats["decode_errors"] == {}


def test_GK_3_3_2_2_lma_killed_and_restarted_keeps_bindings_and_refreshes_keep_keys(namespaces: Namespaces) -> None:
    lab = namespaces
    # Granted lifetime 8 s and refresh when 90 % remains: the MAGs re-register every 0.8 s.
    _start_lab(lab, "ipv4", lifetime=8, refresh_margin=0.9)
    mn_ids = ["mn-a@opA", "mn-b@opA"]
    for mn_id in mn_ids:
        assert _attach(lab, "keys", mn_id).returncode == 0
    before = _bindings(lab.directory / "lma.sock")
    lab.processes[0].send_signal(signal.SIGKILL)
    lab.processes[0].wait(10)
    lma = lab.start("lma-restarted", lab.lma, "lma", "--config", str(lab.directory / "lma.toml"))
    _wait_ready(lab.directory / "lma.sock", lma, lab, "lma-restarted")
    after = _bindings(lab.directory / "lma.sock")
    assert set(after) == set(before)
    for mn_id in before:
        for field_name in ("downlink_key", "uplink_key", "ipv4_home", "hnp", "proxy_coa", "gre", "tenant"):
            assert after[mn_id][field_name] == before[mn_id][field_name], (mn_id, field_name)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stats = json.loads(_cli("show", "stats", "--control", str(lab.directory / "lma.sock"), "--json").stdout)
        if stats["pba_sent"].get("ACCEPTED", 0) >= 2 * len(mn_ids):
            break
        time.sleep(0.2)
    assert stats["pba_sent"].get("ACCEPTED", 0) >= 2 * len(mn_ids), lab.log("lma-restarted")
    refreshed = _bindings(lab.directory / "lma.sock")
    at_mag = _bindings(lab.directory / "mag-keys.sock")
    for mn_id in mn_ids:
        assert refreshed[mn_id]["uplink_key"] == at_mag[mn_id]["uplink_key"] == before[mn_id]["uplink_key"]
        assert refreshed[mn_id]["downlink_key"] == before[mn_id]["downlink_key"]
        assert at_mag[mn_id]["state"] == "registered"


@pytest.mark.parametrize(("role", "text", "key"), [
    ("lma", '[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "opA"\nipv4_pool = "10.0.0.0/99"\n',
     "tenant[0].ipv4_pool"),
    ("lma", '[lma]\nipv4_address = "127.0.0.1"\nunknown_key = 1\n', "lma.unknown_key"),
    ("mag", '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ngre = "maybe"\n', "mag.gre"),
    ("mag", '[mag]\nlma = "127.0.0.1"\n', "mag.ipv4_address"),
])
def test_bad_config_files_exit_2_naming_the_key(tmp_path: Path, role: str, text: str, key: str) -> None:
    path = tmp_path / f"{role}.toml"
    path.write_text(text)
    result = _cli(role, "--config", str(path))
    assert result.returncode == 2
    assert f"{key}: " in result.stderr
