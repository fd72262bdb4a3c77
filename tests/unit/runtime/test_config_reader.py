"""``config_reader``: the problem each malformed value is reported with."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmip6.runtime.config import ConfigError, load_lma_config
from pmip6.runtime.config_reader import parse_endpoint


@pytest.mark.parametrize(("text", "problem"), [
    ("9436", "no host"),
    (":9436", "no host"),
    ("127.0.0.1", "no port"),
    ("127.0.0.1:", "no port"),
    ("[::1]:", "no port"),
    ("", "no host"),
])
def test_an_endpoint_without_host_or_port_says_which_is_missing(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{problem}$"):
        parse_endpoint(text)


@pytest.mark.parametrize(("text", "endpoint"), [("127.0.0.1:9436", ("127.0.0.1", 9436)), ("[::1]:1", ("::1", 1))])
def test_an_endpoint_is_a_host_and_a_port(text: str, endpoint: tuple[str, int]) -> None:
    assert parse_endpoint(text) == endpoint


def test_a_metrics_port_without_its_host_is_reported_as_such(tmp_path: Path) -> None:
    """``metrics = "9436"`` was reported as ``(no port)``."""
    config = tmp_path / "lma.toml"
    config.write_text('[lma]\nipv4_address = "127.0.0.1"\nmetrics = "9436"\n')
    with pytest.raises(ConfigError) as error:
        load_lma_config(config)
    assert str(error.value) == ('lma.metrics: expected an "address:port" (an IP address, not a name) such as '
                                '"127.0.0.1:9436" or "[::1]:9436", got "9436" (no host)')
