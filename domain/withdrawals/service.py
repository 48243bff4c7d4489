"""Withdrawing commission: a distributor's request takes the amount from `available` at once; staff approve (the
merchant transfer pays amount − fee) or reject (the amount goes back). Every status change is a conditional update,
so the notification, the sweep and staff may race and the money still moves once.

A disabled distributor may still withdraw: disabling stops its shares binding customers, not what it already earned.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.commissions.balance import Insufficient, give_back_withdrawal, take_for_withdrawal
from domain.distribution import settings
from domain.distribution.models import Distributor, DistributorStatus
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.pagination import Page, paginate
from domain.transfers.ports import (
    CANCELLED,
    FAIL,
    SUCCESS,
    TransferGateway,
    TransferGatewayError,
    TransferResult,
    TransferScene,
)
from domain.withdrawals.models import Withdrawal, WithdrawalStatus

SCENE = TransferScene.commission("分销推广员", "分销佣金提现")
REMARK = "佣金提现"
MAX_KEY = 64
MAX_REASON = 200


def bill_number(withdrawal_id: int) -> str:
    """The withdrawal's merchant transfer number: fixed by its id, so a retry can never renumber it."""
    return f"PONDW{withdrawal_id:012d}"


def _taken(withdrawal: Withdrawal) -> str:
    return f"withdrawal:{withdrawal.id}"


def _given_back(withdrawal: Withdrawal) -> str:
    return f"withdrawal:{withdrawal.id}:back"


def _invalid_state(withdrawal: Withdrawal, wanted: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_STATE, f"the withdrawal is {withdrawal.status.value}, not {wanted}")


def _replay(found: Withdrawal, amount: int) -> Withdrawal:
    if found.amount != amount:
        raise DomainError(ErrorCode.DUPLICATE, "this idempotency key was used for another amount", ["idempotencyKey"])
    return found


async def request(distributor: Distributor, amount: int, idempotency_key: str, at: datetime) -> Withdrawal:
    """Take `amount` from the available balance for a new withdrawal; the same key again answers the same one."""
    if distributor.status != DistributorStatus.APPROVED:
        raise DomainError(ErrorCode.INVALID_STATE, "only an approved distributor withdraws")
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY:
        raise Invalid(f"the idempotency key is 1 to {MAX_KEY} characters", ["idempotencyKey"])
    found = await Withdrawal.get_or_none(distributor_id=distributor.id, idempotency_key=key)
    if found is not None:
        return _replay(found, amount)
    rules = (await settings.current()).rules
    minimum = max(1, rules.withdrawal_minimum)
    if amount < minimum:
        raise Invalid(f"withdraw at least {minimum} fen", ["amount"])
    try:
        async with in_transaction():
            withdrawal = await Withdrawal.create(
                distributor_id=distributor.id, amount=amount, fee=amount * rules.withdrawal_fee_bp // 10_000,
                idempotency_key=key, requested_at=at)
            await take_for_withdrawal(distributor.id, amount, _taken(withdrawal))
    except Insufficient:
        raise DomainError(ErrorCode.INSUFFICIENT_BALANCE, "the available commission is less than the amount",
                          ["amount"]) from None
    except IntegrityError:  # the same key, concurrently
        found = await Withdrawal.get_or_none(distributor_id=distributor.id, idempotency_key=key)
        if found is None:
            raise
        return _replay(found, amount)
    return withdrawal


async def _get(withdrawal_id: int) -> Withdrawal:
    found = await Withdrawal.get_or_none(id=withdrawal_id)
    if found is None:
        raise NotFound("withdrawal", ["withdrawalId"])
    return found


async def reject(withdrawal_id: int, reason: str, by: str, at: datetime) -> Withdrawal:
    """A REQUESTED withdrawal only: its amount goes back to `available` (once)."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid(f"give a reason of at most {MAX_REASON} characters", ["reason"])
    withdrawal = await _get(withdrawal_id)
    async with in_transaction():
        changed = await Withdrawal.filter(id=withdrawal.id, status=WithdrawalStatus.REQUESTED).update(
            status=WithdrawalStatus.REJECTED, reject_reason=reason, decided_by=by[:64], decided_at=at)
        if changed:
            await give_back_withdrawal(withdrawal.distributor_id, withdrawal.amount, _given_back(withdrawal))
    if not changed:
        raise _invalid_state(await _get(withdrawal_id), "REQUESTED")
    return await _get(withdrawal_id)


async def approve(withdrawal_id: int, by: str, gateway: TransferGateway, at: datetime) -> Withdrawal:
    """A REQUESTED withdrawal only: it becomes TRANSFERRING under its bill number, then the transfer is created."""
    withdrawal = await _get(withdrawal_id)
    changed = await Withdrawal.filter(id=withdrawal.id, status=WithdrawalStatus.REQUESTED).update(
        status=WithdrawalStatus.TRANSFERRING, out_bill_no=bill_number(withdrawal.id), decided_by=by[:64],
        decided_at=at)
    if not changed:
        raise _invalid_state(await _get(withdrawal_id), "REQUESTED")
    return await transfer(await _get(withdrawal_id), gateway, at)


async def transfer(withdrawal: Withdrawal, gateway: TransferGateway, at: datetime) -> Withdrawal:
    """Create the TRANSFERRING withdrawal's transfer (again: the same number answers the same bill). No answer
    leaves it TRANSFERRING for the sweep; a refusal fails it and gives the amount back."""
    assert withdrawal.out_bill_no is not None
    distributor = await Distributor.get(id=withdrawal.distributor_id)
    customer = await Customer.get(id=distributor.customer_id)
    try:
        result = await gateway.create_transfer(out_bill_no=withdrawal.out_bill_no, openid=customer.openid,
                                               amount=withdrawal.amount - withdrawal.fee, remark=REMARK, scene=SCENE)
    except TransferGatewayError as exc:
        if exc.retryable:
            return withdrawal
        await finish(withdrawal.out_bill_no, FAIL, None, exc.code, at)
    except ValueError as exc:  # an amount the gateway cannot send
        await finish(withdrawal.out_bill_no, FAIL, None, str(exc)[:MAX_REASON], at)
    else:
        await record(result, at)
    return await _get(withdrawal.id)


async def record(result: TransferResult, at: datetime) -> Withdrawal | None:
    """What WeChat Pay answered about a bill (creation or query)."""
    return await finish(result.out_bill_no, result.state, result.transfer_bill_no, result.fail_reason, at,
                        package_info=result.package_info)


async def finish(out_bill_no: str, state: str, transfer_bill_no: str | None, fail_reason: str | None,
                 at: datetime, *, package_info: str | None = None) -> Withdrawal | None:
    """Apply a bill's state to its TRANSFERRING withdrawal: SUCCESS pays it, FAIL or CANCELLED fails it and gives the
    amount back, anything else is only noted. Later words on a finished withdrawal change nothing. None: not ours."""
    withdrawal = await Withdrawal.get_or_none(out_bill_no=out_bill_no)
    if withdrawal is None:
        return None
    pending = Withdrawal.filter(id=withdrawal.id, status=WithdrawalStatus.TRANSFERRING)
    noted: dict[str, object] = {"transfer_state": state}
    if transfer_bill_no:
        noted["transfer_bill_no"] = transfer_bill_no
    if state == SUCCESS:
        await pending.update(status=WithdrawalStatus.PAID, finished_at=at, **noted)
    elif state in (FAIL, CANCELLED):
        async with in_transaction():
            if await pending.update(status=WithdrawalStatus.FAILED, finished_at=at,
                                    fail_reason=(fail_reason or state)[:MAX_REASON], **noted):
                await give_back_withdrawal(withdrawal.distributor_id, withdrawal.amount, _given_back(withdrawal))
    else:
        if package_info:
            noted["package_info"] = package_info
        await pending.update(**noted)
    return await _get(withdrawal.id)


async def of_distributor(distributor_id: int, first: int | None, after: str | None) -> Page[Withdrawal]:
    return await paginate(Withdrawal.filter(distributor_id=distributor_id), ["id"], first, after, descending=True)


async def withdrawals(status: WithdrawalStatus | None, first: int | None, after: str | None) -> Page[Withdrawal]:
    query = Withdrawal.all() if status is None else Withdrawal.filter(status=status)
    return await paginate(query, ["id"], first, after, descending=True)
