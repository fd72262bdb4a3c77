"""Instructions per PBU of the LMA engine and codec, counted by callgrind: what other processes' load does not disturb.

Not a test. ``bench/signaling.py``'s engine alone (decode -> LocalMobilityAnchor.receive -> encode, no sockets)
registers ``--count`` distinct mobile nodes (initial PBUs: a new HNP requested, a downlink GRE key offered), then
refreshes each (its HNP, Handoff Indicator 5, its key, the next sequence number). The script runs itself under
``valgrind --tool=callgrind``, which dumps its counts at each phase's end (``--dump-before=getppid``: the phases
are marked by calls to ``os.getppid``), and prints the instructions (Ir) per PBU of either phase: setting up, building
the PBUs and the refreshes from the PBAs are not counted. Run: ``.venv/bin/python bench/engine_instructions.py``
(valgrind installed; about two minutes for 10,000 MNs). Counts move by well under 1 % between runs
(``PYTHONHASHSEED`` is fixed; the uplink keys are random).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from signaling import LIFETIME_UNITS, bench_engine, engine_answers, pbu

from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import HandoffIndicator
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
)

PHASES = ("setup", "initial", "building the refreshes", "refresh")
"""What each callgrind dump counts, in order (each ends at a call to ``os.getppid``)."""


def refresh(index: int, answer: bytes) -> bytes:
    """The refresh of mobile node ``index`` (:func:`signaling.pbu`) whose initial PBU was answered with ``answer``."""
    pba = decode_message(answer)
    assert isinstance(pba, ProxyBindingAcknowledgement) and pba.status == 0, pba
    prefix = next(option for option in pba.options if isinstance(option, HomeNetworkPrefixOption))
    return encode_message(ProxyBindingUpdate(sequence=(index + 1) & 0xFFFF, lifetime=LIFETIME_UNITS, options=(
        MNIdentifierOption(f"mn{index}@bench.example".encode()),
        prefix,
        HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED),
        AccessTechnologyTypeOption(4),
        GREKeyOption(index + 1),
    )))


def phases(count: int) -> None:
    """The measured run, under callgrind: each ``os.getppid()`` ends a phase of :data:`PHASES`."""
    lma = bench_engine()
    initial = [pbu(index) for index in range(count)]
    os.getppid()
    answers = engine_answers(lma, initial)
    os.getppid()
    refreshes = [refresh(index, answer) for index, answer in enumerate(answers)]
    os.getppid()
    answers = engine_answers(lma, refreshes)
    os.getppid()
    assert all(decode_message(answer).status == 0 for answer in answers)  # type: ignore[union-attr]


def instructions(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction count in {dump}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="mobile nodes (default 10,000)")
    parser.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        phases(args.count)
        return
    with tempfile.TemporaryDirectory(prefix="pmip6-callgrind-") as directory:
        out = Path(directory) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--phases", "--count", str(args.count)],
                       check=True, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
        counts = {phase: instructions(Path(f"{out}.{part}")) for part, phase in enumerate(PHASES, 1)}
    print(f"{args.count:,} mobile nodes, decode -> LocalMobilityAnchor.receive -> encode")
    for phase in ("initial", "refresh"):
        print(f"{phase}: {counts[phase] / args.count:,.0f} Ir per PBU")


if __name__ == "__main__":
    main()
