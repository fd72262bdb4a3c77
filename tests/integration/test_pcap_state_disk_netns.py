"""walk7a 2: a flood recorded by ``--pcap`` must not take the state file's space.

``--pcap`` records every datagram the LMA reads from the signaling port. A flood of PBUs from a source that is not
an authorized MAG (each answered 154 and recorded twice) used to fill the file system, and with the state file on it
(examples/lma.toml keeps both beside the configuration) the LMA could no longer write a binding, so it sent no PBA
to any MAG. The capture now leaves a free-space floor (docs/operations.md, "--pcap FILE"). Strangers are now read
within a budget (500 a second, their answers 10 a second: "Strangers on the signaling port"), so the flood goes on
until the capture has stopped (at most 30 s), rather than for a fixed count.

The LMA's state file and capture share a 1 MiB tmpfs, mounted in a private mount namespace (gone with its
processes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from loopback_lab import loopback_namespace

from pmip6.lab.namespaces import namespaces_available

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LMA_TOML = """\
[lma]
ipv4_address = "192.0.2.1"
state = "{disk}/lma-state.db"
control = "{disk}/lma.sock"
[policy]
default_tenant = "opA"
[[mag]]
address = "192.0.2.2"
[[tenant]]
name = "opA"
ipv4_pool = "10.0.0.0/24"
ipv6_prefix_pool = "2001:db8:a::/48"
"""

DRIVER = r'''
import json, os, socket, subprocess, sys, time
from ipaddress import IPv6Address
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import BUFlags
from pmip6.wire.options import (AccessTechnologyTypeOption, GREKeyOption, HandoffIndicatorOption,
    HomeNetworkPrefixOption, MNIdentifierOption, TimestampOption)
disk, config = sys.argv[1:3]
log_path = os.path.join(os.path.dirname(config), "lma.log")  # a file, not a pipe: not on the 1 MiB disk either
with open(log_path, "wb") as log_file:
    lma = subprocess.Popen([sys.executable, "-m", "pmip6", "lma", "--config", config, "--pcap", disk + "/lma.pcap"],
                           stdout=subprocess.DEVNULL, stderr=log_file)
result = {}
try:
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(disk + "/lma.sock")
            break
        except OSError:
            if lma.poll() is not None or time.monotonic() > deadline:
                sys.exit("the LMA did not start:\n" + open(log_path, errors="replace").read())
            time.sleep(0.05)
    def pbu(mn, seq, ts=True):
        options = [MNIdentifierOption(mn.encode()), HomeNetworkPrefixOption(IPv6Address("::"), 0),
                   HandoffIndicatorOption(1), AccessTechnologyTypeOption(4), GREKeyOption(0x1234)]
        if ts:
            options.insert(4, TimestampOption.from_time(time.time()))
        return encode_message(ProxyBindingUpdate(seq, BUFlags.A | BUFlags.P, 225, tuple(options)))
    mag = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); mag.bind(("192.0.2.2", 0))
    def register(mn, seq):
        """The status of the PBA for mn, its PBU sent again each second (as a MAG would) for up to 15 s: a slow host
        may still be working through the flood in the LMA's receive buffer."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            mag.sendto(pbu(mn, seq), ("192.0.2.1", 5436))
            mag.settimeout(1.0)
            try:
                while True:
                    pba = decode_message(mag.recvfrom(65535)[0])
                    mn_id = pba.option(MNIdentifierOption)
                    if mn_id is not None and mn_id.identifier == mn.encode():
                        return pba.status
            except socket.timeout:
                pass
        return None
    result["before"] = register("mn1@opA.example", 1)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); stranger.bind(("192.0.2.66", 0))
    flood = pbu("x" * 200 + "@opA.example", 1, ts=False)
    flood_end = time.monotonic() + 30  # bounded: the capture stops after a few seconds of it
    while time.monotonic() < flood_end and "capture stopped" not in open(log_path, errors="replace").read():
        for _ in range(200):
            stranger.sendto(flood, ("192.0.2.1", 5436))
        time.sleep(0.01)
    result["refresh_after_flood"] = register("mn1@opA.example", 2)
    result["new_mn_after_flood"] = register("mn2@opA.example", 3)
    result["df"] = subprocess.run(["df", "-B1", disk], capture_output=True, text=True).stdout.splitlines()[-1]
finally:
    lma.terminate()
    try:
        lma.wait(timeout=10)
    except subprocess.TimeoutExpired:
        lma.kill()
        lma.wait()
    log = open(log_path, errors="replace").read().splitlines()
    result["lma_log_tail"] = log[-3:]
    result["pcap_lines"] = [line for line in log if "--pcap" in line]
print(json.dumps(result))
'''


def test_a_hostile_flood_recorded_by_pcap_does_not_stop_registrations(tmp_path: Path) -> None:
    reason = namespaces_available() or (None if shutil.which("unshare") else "needs unshare")
    if reason is not None:
        pytest.skip(reason)
    disk = tmp_path / "disk"
    disk.mkdir()
    config = tmp_path / "lma.toml"
    config.write_text(LMA_TOML.format(disk=disk))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    script = f"mount -t tmpfs -o size=1m w7a-tpcap {disk} && exec {sys.executable} {driver} {disk} {config}"
    with loopback_namespace("w7p", ("192.0.2.1/32", "192.0.2.2/32", "192.0.2.66/32")) as namespace:
        done = subprocess.run(["ip", "netns", "exec", namespace, "unshare", "-m", "--propagation", "private",
                               "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["before"] == 0
    assert (result["refresh_after_flood"], result["new_mn_after_flood"]) == (0, 0), textwrap.indent(
        "\n".join([result["df"], *result["lma_log_tail"]]), "  ")
    (stopped,) = result["pcap_lines"]  # once, at error level
    assert " ERROR " in stopped and "capture stopped (signaling goes on)" in stopped, stopped
