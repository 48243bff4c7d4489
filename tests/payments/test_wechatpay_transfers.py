"""The merchant transfer (商家转账, wechat.md §7.1) through WeChatPayTransfers against the simulator, end to end."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from structlog.testing import capture_logs

from domain.transfers.ports import TransferBill, TransferGatewayError, TransferResult, TransferScene
from payments.keys import SimulatorKeys
from payments.notify import TRANSFER_PATH
from payments.simulator import create_wechatpay_simulator
from payments.transfers import WeChatPayTransfers, parse_transfer_notification, transfer_bill
from payments.wechatpay import NotificationRejected, WeChatPayConfig, WeChatPayGateway
from tests.fixtures.orders_paid import PayFlow, notification_rows
from tests.payments.paysim_support import (
    NOTIFY_URL,
    OPENID,
    REFUND_NOTIFY_URL,
    TRANSFER_NOTIFY_URL,
    PayEnv,
    authorization,
)

TRANSFER_BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
SCENE = TransferScene.commission("分销推广员", "分销佣金提现")


def new_bill_no() -> str:
    return "W" + uuid.uuid4().hex[:24]


def transfers(env: PayEnv) -> WeChatPayTransfers:
    return WeChatPayTransfers(env.gateway)


async def create(port: WeChatPayTransfers, out_bill_no: str, amount: int = 1500, **override: Any) -> TransferResult:
    args: dict[str, Any] = {
        "out_bill_no": out_bill_no, "openid": OPENID, "amount": amount, "remark": "佣金提现",
        "scene": SCENE, "user_recv_perception": "劳务报酬", **override,
    }
    return await port.create_transfer(**args)


def raw_body(keys: SimulatorKeys, **override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": keys.appid, "out_bill_no": new_bill_no(), "transfer_scene_id": "1005", "openid": OPENID,
        "transfer_amount": 1500, "transfer_remark": "佣金提现", "notify_url": TRANSFER_NOTIFY_URL,
        "transfer_scene_report_infos": [
            {"info_type": "岗位类型", "info_content": "分销推广员"}, {"info_type": "报酬说明", "info_content": "佣金"},
        ],
    }
    body.update(override)
    return {k: v for k, v in body.items() if v is not None}


async def test_a_new_transfer_waits_for_the_user_with_a_package_info(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()

    created = await create(port, out_bill_no, amount=1500)

    assert created.out_bill_no == out_bill_no and created.state == "WAIT_USER_CONFIRM"
    assert created.package_info and created.transfer_bill_no and created.fail_reason is None
    found = await port.query_transfer(out_bill_no)
    assert found == TransferResult(out_bill_no, "WAIT_USER_CONFIRM", created.transfer_bill_no)
    raw = await env.gateway.query_transfer(out_bill_no)
    assert raw is not None
    assert (raw["transfer_amount"], raw["openid"], raw["mch_id"]) == (1500, OPENID, env.keys.mchid)
    stored = env.sim.transfers[out_bill_no]
    assert (stored.scene_id, stored.notify_url, stored.remark) == ("1005", TRANSFER_NOTIFY_URL, "佣金提现")


async def test_creating_again_with_the_same_parameters_answers_the_same_bill(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()

    first = await create(port, out_bill_no)
    again = await create(port, out_bill_no)

    assert again == first
    assert len(env.sim.transfers) == 1


@pytest.mark.parametrize(
    "override",
    [{"amount": 1501}, {"openid": "oSomeoneElse_0002"}, {"remark": "另一笔"},
     {"scene": TransferScene.commission("团长", "分销佣金提现")}],
)
async def test_the_same_bill_number_with_other_parameters_is_refused(env: PayEnv, override: dict[str, Any]) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    first = await create(port, out_bill_no)

    with pytest.raises(TransferGatewayError) as caught:
        await create(port, out_bill_no, **override)

    assert (caught.value.code, caught.value.retryable) == ("INVALID_REQUEST", False)
    assert await port.query_transfer(out_bill_no) == TransferResult(
        out_bill_no, "WAIT_USER_CONFIRM", first.transfer_bill_no
    )


async def test_the_user_confirming_pays_and_sends_a_verified_notification(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    created = await create(port, out_bill_no, amount=2345)

    response = await env.control.post(
        f"/__sim/transfer/{out_bill_no}/confirm", json={"package_info": created.package_info}
    )
    assert response.status_code == 200, response.text
    await env.drain()

    assert (await port.query_transfer(out_bill_no)) == TransferResult(
        out_bill_no, "SUCCESS", created.transfer_bill_no
    )
    [envelope] = env.receiver.accepted
    assert envelope["event_type"] == "MCHTRANSFER.BILL.FINISHED"
    assert envelope["resource"]["transfer_amount"] == 2345
    assert transfer_bill(env.gateway, envelope) == TransferBill(out_bill_no, "SUCCESS", created.transfer_bill_no, None)
    log = (await env.notifications())["notifications"]
    assert [(n["event_type"], n["out_bill_no"], n["url"], n["status"]) for n in log] == [
        ("MCHTRANSFER.BILL.FINISHED", out_bill_no, TRANSFER_NOTIFY_URL, "delivered")
    ]


async def test_a_failed_bill_says_why_in_the_query_and_the_notification(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await create(port, out_bill_no)

    response = await env.control.post(f"/__sim/transfer/{out_bill_no}/reject", json={"fail_reason": "ACCOUNT_FROZEN"})
    assert response.status_code == 200, response.text
    await env.drain()

    found = await port.query_transfer(out_bill_no)
    assert found is not None and (found.state, found.fail_reason) == ("FAIL", "ACCOUNT_FROZEN")
    [envelope] = env.receiver.accepted
    bill = transfer_bill(env.gateway, envelope)
    assert (bill.state, bill.fail_reason) == ("FAIL", "ACCOUNT_FROZEN")
    again = await env.control.post(f"/__sim/transfer/{out_bill_no}/confirm", json={})
    assert again.status_code == 409


async def test_confirming_with_another_bills_package_info_is_refused(env: PayEnv) -> None:
    port = transfers(env)
    mine, other = new_bill_no(), new_bill_no()
    await create(port, mine)
    foreign = await create(port, other)

    response = await env.control.post(f"/__sim/transfer/{mine}/confirm", json={"package_info": foreign.package_info})

    assert response.status_code == 400
    assert (await port.query_transfer(mine)) is not None
    assert env.sim.transfers[mine].state == "WAIT_USER_CONFIRM"


async def test_a_bill_cancelled_before_the_user_confirms_ends_cancelled(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    created = await create(port, out_bill_no)

    cancelling = await port.cancel_transfer(out_bill_no)
    await env.drain()

    assert cancelling.state == "CANCELING" and cancelling.transfer_bill_no == created.transfer_bill_no
    found = await port.query_transfer(out_bill_no)
    assert found is not None and found.state == "CANCELLED" and found.package_info is None
    assert (await port.cancel_transfer(out_bill_no)).state == "CANCELLED"
    [envelope] = env.receiver.accepted
    assert transfer_bill(env.gateway, envelope).state == "CANCELLED"
    confirm = await env.control.post(f"/__sim/transfer/{out_bill_no}/confirm", json={})
    assert confirm.status_code == 409


async def test_a_paid_or_unknown_bill_cannot_be_cancelled(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await create(port, out_bill_no)
    await env.control.post(f"/__sim/transfer/{out_bill_no}/confirm", json={})

    with pytest.raises(TransferGatewayError) as paid:
        await port.cancel_transfer(out_bill_no)
    with pytest.raises(TransferGatewayError) as unknown:
        await port.cancel_transfer(new_bill_no())

    assert (paid.value.code, paid.value.retryable) == ("INVALID_REQUEST", False)
    assert unknown.value.code == "NOT_FOUND"
    assert (await port.query_transfer(out_bill_no)) is not None


async def test_a_creation_answered_500_after_it_took_effect_is_found_by_query_not_renumbered(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await env.faults(api_error="SYSTEM_ERROR", after_commit=True, endpoint="transfer")

    with pytest.raises(TransferGatewayError) as caught:
        await create(port, out_bill_no)
    assert (caught.value.code, caught.value.retryable) == ("SYSTEM_ERROR", True)

    found = await port.query_transfer(out_bill_no)
    assert found is not None and found.state == "WAIT_USER_CONFIRM"
    again = await create(port, out_bill_no)
    assert again.transfer_bill_no == found.transfer_bill_no and again.package_info
    assert list(env.sim.transfers) == [out_bill_no]


async def test_a_creation_that_never_reached_wechat_pay_is_unknown_to_the_query(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await env.faults(api_error="SYSTEM_ERROR", endpoint="transfer")

    with pytest.raises(TransferGatewayError) as caught:
        await create(port, out_bill_no)

    assert caught.value.retryable
    assert await port.query_transfer(out_bill_no) is None
    assert (await create(port, out_bill_no)).state == "WAIT_USER_CONFIRM"


async def test_query_and_cancel_faults_are_retryable_errors(env: PayEnv) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await create(port, out_bill_no)
    await env.faults(api_error="FREQUENCY_LIMITED", endpoint="query_transfer")
    await env.faults(api_error="SYSTEM_ERROR", endpoint="cancel_transfer")

    with pytest.raises(TransferGatewayError) as query:
        await port.query_transfer(out_bill_no)
    with pytest.raises(TransferGatewayError) as cancel:
        await port.cancel_transfer(out_bill_no)

    assert (query.value.code, query.value.retryable) == ("FREQUENCY_LIMITED", True)
    assert (cancel.value.code, cancel.value.retryable) == ("SYSTEM_ERROR", True)
    assert env.sim.transfers[out_bill_no].state == "WAIT_USER_CONFIRM"


@pytest.mark.parametrize("amount", [1, 9])
async def test_wechat_pay_refuses_transfers_under_ten_fen(env: PayEnv, amount: int) -> None:
    port, out_bill_no = transfers(env), new_bill_no()

    with pytest.raises(TransferGatewayError) as caught:
        await create(port, out_bill_no, amount=amount)

    assert (caught.value.code, caught.value.retryable) == ("PARAM_ERROR", False)
    assert await port.query_transfer(out_bill_no) is None
    assert (await create(port, out_bill_no, amount=10)).state == "WAIT_USER_CONFIRM"


@pytest.mark.parametrize("amount", [0, -100, 200_000])
async def test_the_gateway_refuses_amounts_it_cannot_send(env: PayEnv, amount: int) -> None:
    """Not positive, or 2,000 yuan and more (WeChat Pay then wants the payee's real name, which Pond lacks)."""
    with pytest.raises(ValueError, match="amount"):
        await create(transfers(env), new_bill_no(), amount=amount)
    assert env.sim.transfers == {}


@pytest.mark.parametrize("out_bill_no", ["", "W-1", "W_1", "W" * 33, "提现1"])
async def test_the_gateway_refuses_bill_numbers_wechat_pay_would_not_take(env: PayEnv, out_bill_no: str) -> None:
    port = transfers(env)
    for call in (create(port, out_bill_no), port.query_transfer(out_bill_no), port.cancel_transfer(out_bill_no)):
        with pytest.raises(ValueError, match="out_bill_no"):
            await call


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"transfer_amount": 9}, 400, "PARAM_ERROR"),
        ({"transfer_amount": "1500"}, 400, "PARAM_ERROR"),
        ({"transfer_amount": 200_000}, 400, "PARAM_ERROR"),  # no user_name
        ({"transfer_amount": 2_000_001, "user_name": "x"}, 400, "INVALID_REQUEST"),
        ({"out_bill_no": "W-1"}, 400, "PARAM_ERROR"),
        ({"out_bill_no": "W" * 33}, 400, "PARAM_ERROR"),
        ({"openid": "o bad"}, 400, "PARAM_ERROR"),
        ({"openid": None}, 400, "PARAM_ERROR"),
        ({"appid": "wxsomeoneelse000"}, 400, "APPID_MCHID_NOT_MATCH"),
        ({"transfer_scene_id": "1001"}, 403, "NO_AUTH"),
        ({"transfer_scene_id": 1005}, 400, "PARAM_ERROR"),
        ({"transfer_scene_report_infos": None}, 400, "PARAM_ERROR"),
        ({"transfer_scene_report_infos": [{"info_type": "活动名称", "info_content": "x"},
                                          {"info_type": "奖励说明", "info_content": "y"}]}, 400, "PARAM_ERROR"),
        ({"transfer_scene_report_infos": [{"info_type": "岗位类型", "info_content": "x"}]}, 400, "PARAM_ERROR"),
        ({"transfer_remark": "备" * 33}, 400, "PARAM_ERROR"),
        ({"transfer_remark": None}, 400, "PARAM_ERROR"),
        ({"notify_url": "http://pond.example.com/transfer-notify"}, 400, "PARAM_ERROR"),
        ({"notify_url": "https://pond.example.com/n?x=1"}, 400, "PARAM_ERROR"),
    ],
)
async def test_the_simulator_validates_transfers_as_wechat_pay_does(
    env: PayEnv, override: dict[str, Any], status: int, code: str
) -> None:
    body = raw_body(env.keys, **override)
    if "openid" in override and override["openid"] is None:
        body.pop("openid", None)

    response = await env.raw_v3("POST", TRANSFER_BILLS, body)

    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert env.sim.transfers == {}


async def test_scene_1000_takes_its_own_report_lines(env: PayEnv) -> None:
    infos = [
        {"info_type": "活动名称", "info_content": "新会员有礼"}, {"info_type": "奖励说明", "info_content": "注册奖励"}
    ]
    body = raw_body(env.keys, transfer_scene_id="1000", transfer_scene_report_infos=infos)

    response = await env.raw_v3("POST", TRANSFER_BILLS, body)

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "WAIT_USER_CONFIRM"


async def test_transfer_calls_must_be_signed(env: PayEnv) -> None:
    body = raw_body(env.keys)
    response = await env.raw_v3("POST", TRANSFER_BILLS, body, sign_body=b"{}")
    stale = await env.raw_v3("GET", f"{TRANSFER_BILLS}/out-bill-no/W1", timestamp=int(time.time()) - 600)

    assert (response.status_code, response.json()["code"]) == (401, "SIGN_ERROR")
    assert (stale.status_code, stale.json()["code"]) == (401, "SIGN_ERROR")
    assert env.sim.transfers == {}


@pytest.mark.parametrize("corruption", ["signtest", "stale_timestamp", "tampered_ciphertext", "wrong_apiv3_key"])
async def test_a_corrupted_transfer_notification_is_rejected_then_the_clean_retry_accepted(
    env: PayEnv, corruption: str
) -> None:
    port, out_bill_no = transfers(env), new_bill_no()
    await create(port, out_bill_no)
    await env.faults(**{corruption: True})

    await env.control.post(f"/__sim/transfer/{out_bill_no}/confirm", json={})
    await env.drain()

    assert len(env.receiver.rejected) == 1
    [envelope] = env.receiver.accepted
    assert transfer_bill(env.gateway, envelope).state == "SUCCESS"


async def test_a_notification_that_is_not_a_transfer_or_not_ours_is_refused(env: PayEnv) -> None:
    resource = {"mchid": env.keys.mchid, "out_bill_no": "W1", "state": "SUCCESS"}
    with pytest.raises(NotificationRejected) as event:
        transfer_bill(env.gateway, {"event_type": "TRANSACTION.SUCCESS", "resource": resource})
    with pytest.raises(NotificationRejected) as merchant:
        transfer_bill(
            env.gateway, {"event_type": "MCHTRANSFER.BILL.FINISHED", "resource": {**resource, "mchid": "1234"}}
        )
    with pytest.raises(NotificationRejected) as state:
        transfer_bill(
            env.gateway, {"event_type": "MCHTRANSFER.BILL.FINISHED", "resource": {**resource, "state": "PAID"}}
        )
    assert (event.value.reason, merchant.value.reason, state.value.reason) == (
        "unexpected_event", "other_merchant", "malformed"
    )
    with pytest.raises(NotificationRejected):
        parse_transfer_notification(env.gateway, {}, b"{}")


# --- a creation that answers past the read timeout, over real HTTP (ASGI transports enforce no timeout) ---

READ_TIMEOUT = 0.5


@pytest_asyncio.fixture
async def simulator_url(sim_keys: SimulatorKeys) -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_wechatpay_simulator(sim_keys)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn's Server offers a flag, no event
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_creation_that_times_out_is_found_by_the_query(sim_keys: SimulatorKeys, simulator_url: str) -> None:
    config = WeChatPayConfig.from_simulator_keys(
        sim_keys, notify_url=NOTIFY_URL, refund_notify_url=REFUND_NOTIFY_URL, gateway=simulator_url,
        read_timeout=READ_TIMEOUT, transfer_notify_url=TRANSFER_NOTIFY_URL,
    )
    async with WeChatPayGateway(config) as gateway, httpx.AsyncClient(base_url=simulator_url) as control:
        planned = await control.post("/__sim/faults", json={"stall": 3, "endpoint": "transfer"})
        assert planned.status_code == 200, planned.text
        port, out_bill_no = WeChatPayTransfers(gateway), new_bill_no()

        started = time.perf_counter()
        with pytest.raises(TransferGatewayError) as caught:
            await create(port, out_bill_no)
        assert time.perf_counter() - started < 2.5
        assert (caught.value.code, caught.value.retryable) == ("NETWORK", True)

        found = await port.query_transfer(out_bill_no)
        assert found is not None and found.state == "WAIT_USER_CONFIRM" and found.transfer_bill_no
        again = await create(port, out_bill_no)
        assert again.transfer_bill_no == found.transfer_bill_no
        state = (await control.get("/__sim/state")).json()
        assert [t["out_bill_no"] for t in state["transfers"]] == [out_bill_no]


# --- Pond's transfer notify endpoint, in the app, with the embedded simulator delivering to it ---

def app_transfers(pay_flow: PayFlow) -> WeChatPayTransfers:
    transfers: WeChatPayTransfers = pay_flow.app.state.runtime.transfers
    return transfers


def finished_logs(logs: list[MutableMapping[str, Any]]) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (e["out_bill_no"], e["state"], e["transfer_bill_no"], e["fail_reason"])
        for e in logs if e["event"] == "transfer bill finished"
    ]


async def test_the_notify_endpoint_hands_a_confirmed_bill_to_the_callback_once(pay_flow: PayFlow) -> None:
    out_bill_no = new_bill_no()
    created = await create(app_transfers(pay_flow), out_bill_no, amount=888)

    with capture_logs() as logs:
        note_id = await pay_flow.finish_transfer(out_bill_no)

    assert pay_flow.attempts(note_id) == [(1, 1, 204)]
    assert pay_flow.captured.requests[-1].path == TRANSFER_PATH
    assert finished_logs(logs) == [(out_bill_no, "SUCCESS", created.transfer_bill_no, None)]
    assert await notification_rows() == [(note_id, "MCHTRANSFER.BILL.FINISHED", out_bill_no, "logged:SUCCESS")]


async def test_a_failed_bill_reaches_the_callback_with_its_reason(pay_flow: PayFlow) -> None:
    out_bill_no = new_bill_no()
    created = await create(app_transfers(pay_flow), out_bill_no)

    with capture_logs() as logs:
        note_id = await pay_flow.finish_transfer(out_bill_no, "reject", fail_reason="ACCOUNT_FROZEN")

    assert finished_logs(logs) == [(out_bill_no, "FAIL", created.transfer_bill_no, "ACCOUNT_FROZEN")]
    assert await notification_rows() == [(note_id, "MCHTRANSFER.BILL.FINISHED", out_bill_no, "logged:FAIL")]


async def test_a_replayed_transfer_notification_is_acknowledged_and_not_handed_on_again(pay_flow: PayFlow) -> None:
    out_bill_no = new_bill_no()
    await create(app_transfers(pay_flow), out_bill_no)
    note_id = await pay_flow.finish_transfer(out_bill_no)
    captured = pay_flow.captured.requests[-1]

    with capture_logs() as logs:
        response = await pay_flow.http.post(captured.path, content=captured.body, headers=captured.headers)

    assert response.status_code == 200
    assert finished_logs(logs) == []
    assert [e["id"] for e in logs if e["event"] == "wechatpay notification replayed"] == [note_id]
    assert await notification_rows() == [(note_id, "MCHTRANSFER.BILL.FINISHED", out_bill_no, "logged:SUCCESS")]


async def test_a_tampered_transfer_notification_is_refused_401(pay_flow: PayFlow) -> None:
    out_bill_no = new_bill_no()
    await create(app_transfers(pay_flow), out_bill_no)
    await pay_flow.faults(tampered_ciphertext=True, every_attempt=True)
    with capture_logs() as logs:
        note_id = await pay_flow.finish_transfer(out_bill_no)
    assert {status for _, _, status in pay_flow.attempts(note_id)} == {401}
    captured = pay_flow.captured.requests[-1]
    envelope = json.loads(captured.body)
    envelope["resource"]["associated_data"] = "transaction"
    forged = json.dumps(envelope).encode()

    responses = [
        await pay_flow.http.post(captured.path, content=captured.body, headers=captured.headers),
        await pay_flow.http.post(captured.path, content=forged, headers=captured.headers),
    ]

    assert [(r.status_code, r.json()["message"]) for r in responses] == [
        (401, "decrypt_failed"), (401, "bad_signature")
    ]
    assert finished_logs(logs) == []
    assert await notification_rows() == []


async def test_another_merchants_or_a_malformed_transfer_bill_is_refused_400(pay_flow: PayFlow) -> None:
    resource = {"mchid": pay_flow.sim.keys.mchid, "out_bill_no": "W1", "state": "SUCCESS", "transfer_bill_no": "13"}
    cases = [{**resource, "mchid": "1234567890"}, {**resource, "state": "PAID"}, {**resource, "out_bill_no": ""}]

    with capture_logs() as logs:
        for case in cases:
            headers, body = pay_flow.signed(case, event_type="MCHTRANSFER.BILL.FINISHED", original_type="mch_payment")
            response = await pay_flow.http.post(TRANSFER_PATH, content=body, headers=headers)
            assert response.status_code == 400, response.text

    assert finished_logs(logs) == []
    assert await notification_rows() == []


def encrypted_name(keys: SimulatorKeys, name: str) -> str:
    key = serialization.load_pem_public_key(keys.platform_public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return base64.b64encode(key.encrypt(name.encode(), oaep)).decode()


@pytest.mark.parametrize(
    ("serial", "user_name", "status"),
    [("key", "encrypted", 200), (None, "encrypted", 400), ("key", "plain", 400)],
)
async def test_from_2000_yuan_the_payees_name_comes_encrypted_for_the_platform_key(
    env: PayEnv, serial: str | None, user_name: str, status: int
) -> None:
    name = encrypted_name(env.keys, "张三") if user_name == "encrypted" else "张三"
    body = json.dumps(raw_body(env.keys, transfer_amount=250_000, user_name=name)).encode()
    headers = {"Authorization": authorization(env.keys, "POST", TRANSFER_BILLS, body),
               "Content-Type": "application/json"}
    if serial:
        headers["Wechatpay-Serial"] = env.keys.public_key_id

    response = await env.control.post(TRANSFER_BILLS, content=body, headers=headers)

    assert response.status_code == status, response.text
    assert len(env.sim.transfers) == (1 if status == 200 else 0)
