"""Who may read /metrics: a bearer token and/or an allow-list; with neither, production answers loopback only."""

from __future__ import annotations

import httpx
import pytest

from app import create_asgi_app
from server.settings import Settings
from tests.conftest import TEST_SECRET

TOKEN = "metrics-token-0123456789"
PRODUCTION = {
    "env": "production", "secret_key": TEST_SECRET, "public_url": "https://shop.example.com",
    "wechat_appid": "wx0123456789abcdef", "wechat_secret": "s", "wechatpay_mchid": "1900000001",
    "wechatpay_cert_serial_no": "5157F09EFDC096DE15EBE81A47057A72",
    "wechatpay_private_key_path": "/keys/apiclient_key.pem", "wechatpay_apiv3_key": "k" * 32,
    "wechatpay_public_key_path": "/keys/pub_key.pem", "wechatpay_public_key_id": "PUB_KEY_ID_01",
}


async def scrape(settings: Settings, address: str, token: str | None = None,
                 forwarded: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_asgi_app(settings), client=(address, 40000))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(forwarded or {})
    async with httpx.AsyncClient(transport=transport, base_url="http://pond.test") as http:
        return await http.get("/metrics", headers=headers)


def settings(tmp_path, production: bool = False, **values: object) -> Settings:
    base: dict[str, object] = {"secret_key": TEST_SECRET, "data_dir": str(tmp_path), "seed_demo": False}
    return Settings(**{**base, **(PRODUCTION if production else {}), **values})  # type: ignore[arg-type]


async def test_a_development_server_answers_anyone(tmp_path):
    response = await scrape(settings(tmp_path), "203.0.113.1")
    assert response.status_code == 200 and "pond_http_requests_total" in response.text


@pytest.mark.parametrize(("address", "status"), [("127.0.0.1", 200), ("::1", 200), ("203.0.113.1", 403),
                                                 ("10.0.0.8", 403)])
async def test_production_without_a_token_or_allow_list_answers_loopback_only(tmp_path, address, status):
    response = await scrape(settings(tmp_path, production=True), address)
    assert response.status_code == status
    if status == 403:
        assert "POND_METRICS_TOKEN" in response.text and "pond_" not in response.text


@pytest.mark.parametrize("header", [{"X-Forwarded-For": "203.0.113.1"}, {"Forwarded": "for=203.0.113.1"}])
async def test_production_loopback_only_refuses_what_a_proxy_on_the_same_machine_passed_on(tmp_path, header):
    response = await scrape(settings(tmp_path, production=True), "127.0.0.1", forwarded=header)
    assert response.status_code == 403 and "pond_" not in response.text


@pytest.mark.parametrize("production", [False, True])
async def test_with_a_token_a_scrape_needs_it_from_anywhere(tmp_path, production):
    configured = settings(tmp_path, production=production, metrics_token=TOKEN)
    missing = await scrape(configured, "203.0.113.1")
    wrong = await scrape(configured, "127.0.0.1", token=TOKEN + "x")
    right = await scrape(configured, "203.0.113.1", token=TOKEN)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["www-authenticate"].startswith("Bearer") and "pond_" not in missing.text


async def test_with_an_allow_list_only_its_addresses_are_answered(tmp_path):
    configured = settings(tmp_path, production=True, metrics_allow="10.0.0.0/8, 192.0.2.7")
    outcomes = [(await scrape(configured, address)).status_code for address in
                ("10.1.2.3", "192.0.2.7", "192.0.2.8", "127.0.0.1")]
    assert outcomes == [200, 200, 403, 403]


async def test_with_both_a_scrape_needs_the_address_and_the_token(tmp_path):
    configured = settings(tmp_path, metrics_allow="10.0.0.0/8", metrics_token=TOKEN)
    outcomes = [(await scrape(configured, address, token)).status_code for address, token in
                (("10.1.2.3", TOKEN), ("10.1.2.3", None), ("203.0.113.1", TOKEN))]
    assert outcomes == [200, 401, 403]
