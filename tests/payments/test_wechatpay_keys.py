from __future__ import annotations

import re
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.keys import SimulatorKeys, load_or_create_keys


def test_generated_keys_have_the_shapes_wechat_pay_uses(sim_keys: SimulatorKeys) -> None:
    assert re.fullmatch(r"[0-9A-F]{40}", sim_keys.merchant_cert_serial)
    assert re.fullmatch(r"PUB_KEY_ID_\d+", sim_keys.public_key_id)
    assert len(sim_keys.apiv3_key) == 32 and sim_keys.apiv3_key.isascii()
    for pem in (sim_keys.merchant_private_key_pem, sim_keys.platform_private_key_pem):
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    cert = x509.load_pem_x509_certificate(sim_keys.merchant_cert_pem.encode())
    assert f"{cert.serial_number:040X}" == sim_keys.merchant_cert_serial
    assert sim_keys.apiv3_key not in repr(sim_keys)


def test_load_or_create_keys_writes_once_and_reads_back_the_same_keys(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    created = load_or_create_keys(directory, mchid="1900000002")
    loaded = load_or_create_keys(directory)

    assert loaded == created and loaded.mchid == "1900000002"
    assert stat.S_IMODE((directory / "apiclient_key.pem").stat().st_mode) == 0o600
    assert not list(directory.glob("*.tmp"))
