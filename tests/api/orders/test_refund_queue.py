"""Failed refunds through the API: the staff queue, retrying, and what the customer's order shows as owed."""

from __future__ import annotations

from domain.orders.models import Refund
from tests.api.orders.test_refunds import approve, codes, request_refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ERRORS, ledger
from tests.support.graphql import error_codes

QUEUE = """query($s: RefundStatus) { staffRefunds(status: $s) { totalCount edges { node {
  id status amount { amount } outRefundNo failureCode failureMessage failures nextAttemptAt
  order { number status refundOwed { amount } } } } } }"""
RETRY = f"""mutation($i: RefundRetryInput!) {{ refundRetry(input: $i) {{
  refund {{ id status failureCode }} order {{ id status refundOwed {{ amount }} }} {ERRORS} }} }}"""
OWED = """query($id: ID!) { order(id: $id) { status refundOwed { amount }
  refunds { status failureCode outRefundNo nextAttemptAt } } }"""


async def queue(gql, token, status="FAILED"):
    return (await gql.data(QUEUE, {"s": status}, token))["staffRefunds"]


async def retry(gql, token, refund_id):
    return (await gql.data(RETRY, {"i": {"refundId": refund_id}}, token))["refundRetry"]


async def test_a_refund_refused_for_a_short_balance_is_queued_owed_and_paid_by_a_staff_retry(
    shop, gql, customer_token, finance_token, owner_token
):
    sku = await shop.sku(price=1990)
    order = await shop.paid_order(customer_token, (sku, 1))
    asked = await request_refund(gql, customer_token, order)
    await shop.faults(api_error="NOT_ENOUGH", endpoint="refund")

    approved = await approve(gql, finance_token, asked["refund"])
    assert approved["errors"] == [] and approved["refund"]["status"] == "FAILED"
    assert approved["order"]["status"] == "PAID"

    failed = await queue(gql, finance_token)
    assert failed["totalCount"] == 1
    node = failed["edges"][0]["node"]
    assert (node["id"], node["status"], node["failureCode"], node["failures"]) == (
        asked["refund"]["id"], "FAILED", "NOT_ENOUGH", 1)
    assert node["nextAttemptAt"] is not None and node["outRefundNo"]
    assert node["order"] == {"number": order["number"], "status": "PAID", "refundOwed": {"amount": 1990}}
    assert (await queue(gql, owner_token))["totalCount"] == 1
    assert (await queue(gql, finance_token, "PROCESSING"))["totalCount"] == 0

    mine = (await gql.data(OWED, {"id": order["id"]}, customer_token))["order"]
    assert mine["refundOwed"] == {"amount": 1990}
    assert mine["refunds"] == [{"status": "FAILED", "failureCode": None, "outRefundNo": None, "nextAttemptAt": None}]
    assert codes(await request_refund(gql, customer_token, order)) == ["DUPLICATE"]  # the money is spoken for

    retried = await retry(gql, finance_token, asked["refund"]["id"])
    assert retried["errors"] == []
    assert (retried["refund"]["status"], retried["order"]["status"]) == ("PROCESSING", "REFUNDING")
    assert retried["order"]["refundOwed"] == {"amount": 0}
    await shop.finish_refund(asked["refund"]["id"])

    mine = (await gql.data(OWED, {"id": order["id"]}, customer_token))["order"]
    assert (mine["status"], mine["refundOwed"]) == ("REFUNDED", {"amount": 0})
    assert await ledger(order) == [("payment", 1990), ("refund", -1990)]
    assert (await queue(gql, finance_token))["totalCount"] == 0


async def test_a_retry_refused_again_says_payment_failed_and_leaves_the_refund_queued(
    shop, gql, customer_token, finance_token
):
    sku = await shop.sku(price=1990)
    order = await shop.paid_order(customer_token, (sku, 1))
    asked = await request_refund(gql, customer_token, order)
    await shop.faults(api_error="INVALID_REQUEST", endpoint="refund", count=2)
    await approve(gql, finance_token, asked["refund"])

    again = await retry(gql, finance_token, asked["refund"]["id"])
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("PAYMENT_FAILED", ["refundId"])]
    assert "INVALID_REQUEST" in again["errors"][0]["message"] and again["refund"] is None
    row = await Refund.first()
    assert (row.status, row.failures, row.next_attempt_at) == ("FAILED", 2, None)
    assert (await queue(gql, finance_token))["totalCount"] == 1


async def test_only_a_failed_refund_can_be_retried(shop, gql, customer_token, finance_token):
    sku = await shop.sku(price=1990)
    order = await shop.paid_order(customer_token, (sku, 1))
    asked = await request_refund(gql, customer_token, order)
    assert codes(await retry(gql, finance_token, asked["refund"]["id"])) == ["INVALID_STATE"]
    await approve(gql, finance_token, asked["refund"])
    assert codes(await retry(gql, finance_token, asked["refund"]["id"])) == ["INVALID_STATE"]
    assert (await Refund.first()).status == "PROCESSING"
    unknown = await retry(gql, finance_token, gid("Refund", 424242))
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", ["refundId"])]


async def test_only_owners_and_finance_see_the_queue_and_retry(gql, operator_token, customer_token):
    retry_input = {"i": {"refundId": gid("Refund", 1)}}
    for token, code in ((operator_token, "FORBIDDEN"), (customer_token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        assert error_codes(await gql(QUEUE, {"s": "FAILED"}, token)) == [code]
        assert error_codes(await gql(RETRY, retry_input, token)) == [code]
