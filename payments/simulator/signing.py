"""Crypto of WeChat Pay API v3 as seen from the WeChat side (wechat.md §2.2, §3, §4.2)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payments.keys import SimulatorKeys
from payments.simulator.models import ApiError

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
MAX_CLOCK_SKEW = 300
_AUTH_PARAM = re.compile(r'\s*([A-Za-z_]+)="([^"]*)"\s*(?:,|$)')
_AUTH_FIELDS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
_ALNUM = string.ascii_letters + string.digits


class AuthError(Exception):
    pass


def random_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def request_id() -> str:
    return uuid.uuid4().hex.upper()


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_authorization(header: str | None) -> dict[str, str]:
    if not header:
        raise AuthError("missing Authorization header")
    scheme, _, params = header.strip().partition(" ")
    if scheme != AUTH_SCHEME:
        raise AuthError(f"unsupported authorization scheme {scheme!r}")
    fields: dict[str, str] = {}
    pos = 0
    params = params.strip()
    while pos < len(params):
        match = _AUTH_PARAM.match(params, pos)
        if not match:
            raise AuthError("malformed Authorization parameters")
        fields[match.group(1)] = match.group(2)
        pos = match.end()
    missing = [name for name in _AUTH_FIELDS if not fields.get(name)]
    if missing:
        raise AuthError(f"Authorization lacks {', '.join(missing)}")
    return fields


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthError("signature is not valid base64") from exc


def _rsa_verify(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def aes_gcm_encrypt(apiv3_key: str, plaintext: bytes, associated_data: str) -> tuple[str, str]:
    nonce = random_nonce(12)
    aead = AESGCM(apiv3_key.encode("utf-8"))
    sealed = aead.encrypt(nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8"))
    return nonce, base64.b64encode(sealed).decode("ascii")


def _load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("expected an RSA private key")
    return key


def _load_public(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("expected an RSA public key")
    return key


class Signer:
    """Verifies what the merchant signs and signs what WeChat Pay sends back."""

    def __init__(self, keys: SimulatorKeys) -> None:
        self.keys = keys
        self._merchant_public = _load_public(keys.merchant_public_key_pem)
        self._platform_private = _load_private(keys.platform_private_key_pem)

    def verify_request(self, method: str, path_qs: bytes, body: bytes, authorization: str | None, now: float) -> None:
        fields = parse_authorization(authorization)
        if fields["mchid"] != self.keys.mchid:
            raise AuthError(f"unknown mchid {fields['mchid']}")
        if fields["serial_no"].upper() != self.keys.merchant_cert_serial.upper():
            raise AuthError("serial_no is not the merchant certificate serial")
        try:
            timestamp = int(fields["timestamp"])
        except ValueError as exc:
            raise AuthError("timestamp is not an integer") from exc
        if abs(now - timestamp) > MAX_CLOCK_SKEW:
            raise AuthError("timestamp is outside the 300 s window")
        message = b"\n".join(
            [method.encode("ascii"), path_qs, fields["timestamp"].encode(), fields["nonce_str"].encode(), body]
        )
        if not _rsa_verify(self._merchant_public, _b64decode(fields["signature"]), message + b"\n"):
            raise AuthError("signature does not match the request")

    def verify_pay_sign(self, app_id: str, time_stamp: str, nonce_str: str, package: str, pay_sign: str) -> bool:
        message = f"{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n".encode()
        try:
            signature = _b64decode(pay_sign)
        except AuthError:
            return False
        return _rsa_verify(self._merchant_public, signature, message)

    def sign_message(self, timestamp: str, nonce: str, body: bytes) -> str:
        return rsa_sign(self._platform_private, f"{timestamp}\n{nonce}\n".encode() + body + b"\n")

    def signed_headers(self, body: bytes, timestamp: int, *, serial: str | None = None) -> dict[str, str]:
        ts = str(timestamp)
        nonce = random_nonce()
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": self.sign_message(ts, nonce, body),
            "Wechatpay-Serial": serial or self.keys.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Request-ID": request_id(),
        }

    def decrypt_sensitive(self, ciphertext: str, serial: str | None) -> str:
        """A field the merchant encrypted with the platform public key (RSA-OAEP SHA-1, wechat.md §3.3), which it
        names in ``Wechatpay-Serial``."""
        if serial != self.keys.public_key_id:
            raise ApiError(400, "PARAM_ERROR", "encrypted fields need Wechatpay-Serial naming the platform key")
        try:
            plain = self._platform_private.decrypt(
                base64.b64decode(ciphertext, validate=True),
                padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
            )
            return plain.decode("utf-8")
        except (ValueError, binascii.Error) as exc:
            raise ApiError(400, "PARAM_ERROR", "an encrypted field does not decrypt with the platform key") from exc

    def encrypt_resource(
        self, plain: dict[str, Any], original_type: str, *, apiv3_key: str | None = None
    ) -> dict[str, str]:
        nonce, ciphertext = aes_gcm_encrypt(apiv3_key or self.keys.apiv3_key, dumps(plain), original_type)
        return {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce,
        }
