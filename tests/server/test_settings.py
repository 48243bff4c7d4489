"""Operators configure Pond through POND_* variables; a bad one stops start-up with one clear line."""

from __future__ import annotations

import pytest

from server.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("POND_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_store():
    settings = load_settings()
    assert settings.database_url.startswith("sqlite://")
    assert settings.redis_url is None and settings.simulated_wechat and settings.simulated_wechatpay
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.order_payment_minutes == 15 and settings.catalog_cache_seconds == 2
    assert settings.db_pool_size == 10


PRODUCTION = {
    "POND_ENV": "production", "POND_SECRET_KEY": "x" * 40, "POND_WECHAT_APPID": "wx123", "POND_WECHAT_SECRET": "s",
    "POND_WECHATPAY_MCHID": "1900000001", "POND_WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A72",
    "POND_WECHATPAY_PRIVATE_KEY_PATH": "/keys/apiclient_key.pem", "POND_WECHATPAY_APIV3_KEY": "k" * 32,
    "POND_WECHATPAY_PUBLIC_KEY_PATH": "/keys/pub_key.pem", "POND_WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_01",
}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"POND_PORT": "eighty"}, "POND_PORT: Input should be a valid integer"),
        ({"POND_DB_POOL_SIZE": "0"}, "POND_DB_POOL_SIZE: Input should be greater than or equal to 1"),
        ({"POND_DATABASE_URL": "mysql://db/pond"}, "POND_DATABASE_URL: unsupported scheme 'mysql'"),
        ({"POND_REDIS_URL": "http://cache"}, "POND_REDIS_URL: must start with redis://"),
        ({"POND_ENV": "staging"}, "POND_ENV: Input should be 'development' or 'production'"),
        ({"POND_ENV": "production"}, "POND_SECRET_KEY: required in production"),
        ({"POND_WECHAT_APPID": "wx123"}, "POND_WECHAT_SECRET: required when POND_WECHAT_APPID is set"),
        ({"POND_WECHATPAY_MCHID": "1900000001"}, "POND_WECHATPAY_CERT_SERIAL_NO: required"),
        (
            {"POND_WECHATPAY_MCHID": "1900000001", "POND_WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A72",
             "POND_WECHATPAY_PRIVATE_KEY_PATH": "/keys/apiclient_key.pem", "POND_WECHATPAY_APIV3_KEY": "k" * 32,
             "POND_WECHATPAY_PUBLIC_KEY_PATH": "/keys/pub_key.pem", "POND_WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_01"},
            "POND_WECHAT_APPID: required with WeChat Pay merchant settings",
        ),
        (
            {"POND_ENV": "production", "POND_SECRET_KEY": "x" * 40},
            "POND_WECHAT_APPID: required in production",
        ),
        ({"POND_TRUSTED_PROXIES": "10.0.0.0/8, lb.internal"},
         "POND_TRUSTED_PROXIES: 'lb.internal' is not an IP address or a CIDR network"),
        ({"POND_TRUSTED_PROXIES": "*"}, "POND_TRUSTED_PROXIES: '*' would believe anyone's X-Forwarded-For"),
        ({"POND_METRICS_ALLOW": "10.0.0.0/33"}, "POND_METRICS_ALLOW: '10.0.0.0/33' is not an IP address"),
        ({"POND_METRICS_TOKEN": "short"}, "POND_METRICS_TOKEN: String should have at least 16 characters"),
        ({**PRODUCTION}, "POND_PUBLIC_URL: required in production, an https:// URL"),
        ({**PRODUCTION, "POND_PUBLIC_URL": "http://shop.example.com"}, "POND_PUBLIC_URL: required in production"),
    ],
)
def test_a_bad_setting_names_the_variable_and_the_reason(monkeypatch, variables, expected):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_the_embedded_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("POND_DATA_DIR", str(tmp_path))
    first = load_settings().signing_key()
    assert len(first) >= 48
    assert load_settings().signing_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_with_an_https_public_url_and_networks_loads(monkeypatch):
    for name, value in {**PRODUCTION, "POND_PUBLIC_URL": "https://shop.example.com",
                        "POND_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,fd00::/8"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POND_METRICS_TOKEN", "")  # an empty variable reads as unset
    settings = load_settings()
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]
    assert settings.metrics_networks == [] and settings.metrics_token is None


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({}, False),
        ({"POND_HOST": "localhost"}, False),
        ({"POND_HOST": "::1"}, False),
        ({"POND_HOST": "127.0.0.2"}, False),
        ({"POND_HOST": "0.0.0.0"}, True),
        ({"POND_HOST": "::"}, True),
        ({"POND_HOST": "192.168.1.20"}, True),
        ({"POND_HOST": "shop.lan"}, True),
        ({"POND_HOST": "0.0.0.0", "POND_ALLOW_REMOTE_DEV": "1"}, False),
        ({**PRODUCTION, "POND_PUBLIC_URL": "https://shop.example.com", "POND_HOST": "0.0.0.0"}, False),
    ],
)
def test_a_development_server_binds_loopback_only_unless_told(monkeypatch, values, refused):
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    refusal = load_settings().bind_refusal()
    assert (refusal is not None) == refused
    if refused:
        assert refusal.startswith("POND_HOST: a development server listens on loopback only")
        assert "--allow-remote" in refusal and "POND_ALLOW_REMOTE_DEV=1" in refusal
