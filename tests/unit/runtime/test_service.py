"""Running a daemon in the foreground (runtime/service.py)."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmip6.runtime import service
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.lma_daemon import build_lma_daemon


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    thresholds = gc.get_threshold()
    yield thresholds
    gc.set_threshold(*thresholds)


def test_a_daemon_collects_young_objects_every_10000_allocations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 default_thresholds: tuple[int, int, int]) -> None:
    config = tmp_path / "lma.toml"
    config.write_text('[lma]\nipv4_address = "127.0.0.1"\ncontrol = "lma.sock"\n')
    seen: list[tuple[int, int, int]] = []

    def serve(coroutine: Any, loop: str) -> int:
        coroutine.close()
        seen.append(gc.get_threshold())
        return 0

    monkeypatch.setattr(service, "run", serve)
    args = argparse.Namespace(config=config, log_format="human", log_level="warning", pcap=None,
                              pcap_limit=None, loop="asyncio")
    assert service.run_daemon(args, load_lma_config, build_lma_daemon) == 0
    assert seen == [(service.YOUNG_COLLECTION_THRESHOLD, *default_thresholds[1:])]
    assert service.YOUNG_COLLECTION_THRESHOLD == 10_000
