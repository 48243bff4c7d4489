from __future__ import annotations

from typing import Any

import pytest

from payments.wechatpay import WeChatPayError
from tests.payments.paysim_support import PayEnv, new_order_no


async def test_a_refund_starts_processing_and_can_be_queried(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=3000)

    refund = await env.gateway.refund(
        out_refund_no="R1" + out_trade_no, out_trade_no=out_trade_no, refund_fen=1200, total_fen=3000, reason="缺货"
    )
    assert refund["status"] == "PROCESSING" and refund["out_trade_no"] == out_trade_no
    assert refund["amount"]["refund"] == 1200 and refund["amount"]["total"] == 3000
    assert await env.gateway.query_refund("R1" + out_trade_no) == refund
    assert await env.gateway.query_refund("R-none") is None
    order = await env.gateway.query(out_trade_no)
    assert order is not None and order["trade_state"] == "REFUND"


async def test_partial_refunds_summing_over_the_total_are_refused(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=1000)
    await env.gateway.refund(
        out_refund_no="A" + out_trade_no, out_trade_no=out_trade_no, refund_fen=600, total_fen=1000
    )
    await env.gateway.refund(
        out_refund_no="B" + out_trade_no, out_trade_no=out_trade_no, refund_fen=400, total_fen=1000
    )

    with pytest.raises(WeChatPayError) as caught:
        await env.gateway.refund(
            out_refund_no="C" + out_trade_no, out_trade_no=out_trade_no, refund_fen=1, total_fen=1000
        )
    assert (caught.value.status, caught.value.code) == (400, "INVALID_REQUEST")


async def test_a_closed_refund_gives_its_amount_back(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=1000)
    await env.gateway.refund(
        out_refund_no="A" + out_trade_no, out_trade_no=out_trade_no, refund_fen=1000, total_fen=1000
    )
    await env.control.post(f"/__sim/refund/A{out_trade_no}/finish", json={"status": "CLOSED"})

    again = await env.gateway.refund(
        out_refund_no="B" + out_trade_no, out_trade_no=out_trade_no, refund_fen=1000, total_fen=1000
    )
    assert again["status"] == "PROCESSING"


async def test_repeating_an_out_refund_no_returns_the_same_refund(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=1000)
    args: dict[str, Any] = {
        "out_refund_no": "R" + out_trade_no, "out_trade_no": out_trade_no, "refund_fen": 700, "total_fen": 1000
    }

    first = await env.gateway.refund(**args)
    second = await env.gateway.refund(**args)
    assert first["refund_id"] == second["refund_id"]
    with pytest.raises(WeChatPayError) as caught:
        await env.gateway.refund(**{**args, "refund_fen": 300})
    assert caught.value.code == "INVALID_REQUEST"


async def test_refund_rules_on_unpaid_unknown_and_mismatched_orders(env: PayEnv) -> None:
    unpaid, _ = await env.prepay(total_fen=1000)
    paid = await env.paid_order(total_fen=1000)
    cases = [
        (unpaid, 1000, 400, "INVALID_REQUEST"),
        (new_order_no(), 1000, 404, "RESOURCE_NOT_EXISTS"),
        (paid, 999, 400, "INVALID_REQUEST"),
    ]
    for out_trade_no, total, status, code in cases:
        with pytest.raises(WeChatPayError) as caught:
            await env.gateway.refund(
                out_refund_no=new_order_no(), out_trade_no=out_trade_no, refund_fen=1, total_fen=total
            )
        assert (caught.value.status, caught.value.code) == (status, code)


async def test_at_most_fifty_refunds_per_order(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=100)
    for n in range(50):
        await env.gateway.refund(
            out_refund_no=f"R{n}{out_trade_no}", out_trade_no=out_trade_no, refund_fen=1, total_fen=100
        )
    with pytest.raises(WeChatPayError) as caught:
        await env.gateway.refund(
            out_refund_no=f"R50{out_trade_no}", out_trade_no=out_trade_no, refund_fen=1, total_fen=100
        )
    assert "50" in caught.value.message


@pytest.mark.parametrize("status", ["SUCCESS", "CLOSED", "ABNORMAL"])
async def test_finishing_a_refund_sends_the_matching_refund_notification(env: PayEnv, status: str) -> None:
    out_trade_no = await env.paid_order(total_fen=2000)
    await env.drain()
    out_refund_no = "R" + out_trade_no
    await env.gateway.refund(out_refund_no=out_refund_no, out_trade_no=out_trade_no, refund_fen=500, total_fen=2000)

    response = await env.control.post(f"/__sim/refund/{out_refund_no}/finish", json={"status": status})
    assert response.status_code == 200
    await env.drain()

    note = env.receiver.accepted[-1]
    assert note["event_type"] == f"REFUND.{status}"
    resource = note["resource"]
    assert resource["out_refund_no"] == out_refund_no and resource["out_trade_no"] == out_trade_no
    assert resource["refund_status"] == status and resource["mchid"] == env.keys.mchid
    assert resource["amount"] == {"total": 2000, "refund": 500, "payer_total": 2000, "payer_refund": 500}
    assert ("success_time" in resource) == (status == "SUCCESS")
    [entry] = [n for n in (await env.notifications())["notifications"] if n["event_type"] == f"REFUND.{status}"]
    assert entry["url"].endswith("/refund-notify")
    refund = await env.gateway.query_refund(out_refund_no)
    assert refund is not None and refund["status"] == status


async def test_an_abnormal_refund_can_still_finish_but_a_final_one_cannot_change(env: PayEnv) -> None:
    out_trade_no = await env.paid_order(total_fen=2000)
    out_refund_no = "R" + out_trade_no
    await env.gateway.refund(out_refund_no=out_refund_no, out_trade_no=out_trade_no, refund_fen=500, total_fen=2000)
    finish = f"/__sim/refund/{out_refund_no}/finish"

    assert (await env.control.post(finish, json={"status": "ABNORMAL"})).status_code == 200
    assert (await env.control.post(finish, json={"status": "SUCCESS"})).status_code == 200
    refused = await env.control.post(finish, json={"status": "CLOSED"})
    assert (refused.status_code, refused.json()["code"]) == (409, "REFUND_FINAL")
