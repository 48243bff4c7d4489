"""Development and test key material shared by the WeChat Pay simulator and Pond's gateway.

Never use these keys against the real WeChat Pay service: they are generated locally and only the simulator trusts them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_PRIVATE_FILES = {
    "merchant_private_key_pem": "apiclient_key.pem",
    "platform_private_key_pem": "wechatpay_platform_key.pem",
}
_PUBLIC_FILES = {
    "merchant_public_key_pem": "apiclient_public.pem",
    "merchant_cert_pem": "apiclient_cert.pem",
    "platform_public_key_pem": "wechatpay_public_key.pem",
}
_META_FILE = "simulator_keys.json"
_META_FIELDS = ("mchid", "appid", "merchant_cert_serial", "public_key_id", "apiv3_key")


@dataclass(frozen=True)
class SimulatorKeys:
    mchid: str
    appid: str
    merchant_private_key_pem: str
    merchant_public_key_pem: str
    merchant_cert_pem: str
    merchant_cert_serial: str
    platform_private_key_pem: str
    platform_public_key_pem: str
    public_key_id: str
    apiv3_key: str

    def __repr__(self) -> str:
        return f"SimulatorKeys(mchid={self.mchid!r}, appid={self.appid!r}, public_key_id={self.public_key_id!r})"


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _merchant_certificate(key: rsa.RSAPrivateKey, mchid: str) -> tuple[str, str]:
    serial = secrets.randbits(159) | (1 << 158)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, mchid),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pond WeChat Pay simulator"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), f"{serial:040X}"


def generate_keys(mchid: str = "1900000001", appid: str = "wxpondsimulator01") -> SimulatorKeys:
    merchant = _new_rsa_key()
    platform = _new_rsa_key()
    cert_pem, serial = _merchant_certificate(merchant, mchid)
    alphabet = string.ascii_letters + string.digits
    return SimulatorKeys(
        mchid=mchid,
        appid=appid,
        merchant_private_key_pem=_private_pem(merchant),
        merchant_public_key_pem=_public_pem(merchant),
        merchant_cert_pem=cert_pem,
        merchant_cert_serial=serial,
        platform_private_key_pem=_private_pem(platform),
        platform_public_key_pem=_public_pem(platform),
        public_key_id="PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(32)),
        apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
    )


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def save_keys(keys: SimulatorKeys, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    values = asdict(keys)
    for field, filename in _PRIVATE_FILES.items():
        _write(directory / filename, values[field], 0o600)
    for field, filename in _PUBLIC_FILES.items():
        _write(directory / filename, values[field], 0o644)
    meta = {field: values[field] for field in _META_FIELDS}
    _write(directory / _META_FILE, json.dumps(meta, indent=2) + "\n", 0o644)


def load_keys(directory: Path) -> SimulatorKeys:
    meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
    pems = {
        field: (directory / filename).read_text(encoding="utf-8")
        for field, filename in {**_PRIVATE_FILES, **_PUBLIC_FILES}.items()
    }
    return SimulatorKeys(**{field: str(meta[field]) for field in _META_FIELDS}, **pems)


def load_or_create_keys(
    directory: Path, *, mchid: str = "1900000001", appid: str = "wxpondsimulator01"
) -> SimulatorKeys:
    """Read the key set from ``directory``, or generate and write one there if it has none.

    The JSON file is written last, so a half-written directory is regenerated on the next call.
    ``mchid``/``appid`` only apply when the keys are created.
    """
    directory = Path(directory)
    if (directory / _META_FILE).is_file():
        return load_keys(directory)
    keys = generate_keys(mchid=mchid, appid=appid)
    save_keys(keys, directory)
    return keys
