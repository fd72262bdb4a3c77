"""r23's review of the configuration hints (11acca6, edda3a3): every key its table may have is a candidate for
"did you mean", and every error about an absent key names a close one the table does have (docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pmip6.runtime.config import LmaConfig, MagConfig, load_lma_config, load_mag_config
from pmip6.runtime.config_reader import ConfigError
from pmip6.runtime.dataplane_config import parse_lma_dataplane, parse_mag_dataplane
from test_config import LMA_MINIMUM, MAG_MINIMUM, _write


@pytest.mark.parametrize("parse", [parse_mag_dataplane, lambda data: parse_lma_dataplane(data, ())])
def test_an_unknown_key_close_to_encapsulation_limit_names_it(parse: Callable[[dict[str, Any]], object]) -> None:
    """encapsulation_limit is read only when present (table.has), so a misspelt one was named close to nothing."""
    with pytest.raises(ConfigError) as raised:
        parse({"encapsulation_limt": 4})
    assert str(raised.value) == "dataplane.encapsulation_limt: unknown key (did you mean encapsulation_limit?)"


def test_an_unknown_key_in_other_case_names_the_key() -> None:
    """The required-key hint compares without case; the unknown-key one did not (Tunnel_MTU was close to nothing)."""
    with pytest.raises(ConfigError) as raised:
        parse_mag_dataplane({"Tunnel_MTU": 1400})
    assert "did you mean tunnel_mtu?" in str(raised.value)


def test_an_mn_without_id_names_a_close_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_lma_config(_write(tmp_path, LMA_MINIMUM.replace('id = "mn1', 'idd = "mn1')))
    assert str(raised.value) == 'mn[0].id: required key is missing (is "idd" a misspelling of id?)'


@pytest.mark.parametrize("role", ["lma", "mag"])
def test_global_revocation_without_id_names_a_close_key(tmp_path: Path, role: str) -> None:
    load: Callable[[Path], LmaConfig | MagConfig]
    if role == "lma":
        text = LMA_MINIMUM.replace("tlv_header = true", "binding_revocation = true").replace(
            'address = "127.0.0.1"\ngre', 'address = "127.0.0.1"\nidd = "m"\nglobal_revocation = true\ngre')
        load = load_lma_config
    else:
        text, load = MAG_MINIMUM + 'idd = "m"\nglobal_revocation = true\n', load_mag_config
    with pytest.raises(ConfigError) as raised:
        load(_write(tmp_path, text))
    assert 'needs id' in str(raised.value) and '(is "idd" a misspelling of id?)' in str(raised.value)


def test_a_gateway_without_uplink_names_a_close_key() -> None:
    tenant = {"name": "default", "tun": "pmip-a", "table": 100, "uplnk": "eth1", "gateway": "192.0.2.1"}
    with pytest.raises(ConfigError) as raised:
        parse_lma_dataplane({"tenant": [tenant]}, ())
    assert '(is "uplnk" a misspelling of uplink?)' in str(raised.value)
