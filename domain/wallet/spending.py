"""Paying for orders with the wallet, and giving the money back: the rules, to the fen, in one place.

Every movement is written twice in the same transaction under the same reference: on the customer's wallet (the
balance ledger, `domain.balances`, minus when the wallet pays) and on the order's money (the money ledger,
`domain.ledger`, accounts `wallet_principal` and `wallet_bonus`, plus when the shop receives). An order's money is then
a list of parts, one per account (WeChat Pay, wallet principal, wallet bonus), that refunds walk back
(`order_parts`); `pond audit` checks the two sides mirror each other.

The rules:

- **A spend takes principal and bonus in proportion to the two balances**: the bonus part is
  `⌊amount × bonus ÷ (principal + bonus)⌋`, the principal part the rest (`split_spend`). The wallet pays what it can
  (`min(owed, principal + bonus)`); WeChat Pay the rest.
- **The wallet part is taken when the order is written** (or when `orderPay` is asked to use the wallet) and **given
  back whole when the order is cancelled or expires** (`release`). A payment arriving for a cancelled order takes the
  same parts again, or the order is not revived and the payment goes back (`retake`).
- **A refund is split between the WeChat part and the wallet part in proportion, cumulatively**: after refunds of the
  sale totalling `R` of an order whose customer paid `M` (`payable + walletPaid`) with `W` from the wallet, the wallet
  has had back `⌊R × W ÷ M⌋`, and of that the principal `⌊wallet back × principal paid ÷ W⌋`, the bonus the rest
  (`refund_split`). Each refund's parts are the difference from what earlier refunds gave back, so rounding never
  drifts and a refund in full returns every part exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.balances import service as balances
from domain.balances.models import BalanceEntry
from domain.columns import column
from domain.ledger import service as ledger
from domain.ledger.models import LedgerEntry
from domain.orders.models import Order, Refund
from domain.wallet.account import BONUS, BUCKETS, PRINCIPAL, locked_wallet, owner

ACCOUNTS = {PRINCIPAL: ledger.WALLET_PRINCIPAL, BONUS: ledger.WALLET_BONUS}
"""The money ledger's account for each wallet bucket."""


@dataclass(frozen=True)
class Parts:
    """Wallet money by bucket."""

    principal: int = 0
    bonus: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.bonus

    def of(self, bucket: str) -> int:
        return self.principal if bucket == PRINCIPAL else self.bonus


NOTHING = Parts()


def split_spend(amount: int, principal: int, bonus: int) -> Parts:
    """What a spend of `amount` takes from each bucket: in proportion to the two balances, the bonus rounded down."""
    held = principal + bonus
    if not 0 <= amount <= held:
        raise ValueError(f"cannot spend {amount} of a wallet holding {held}")
    bonus_part = amount * bonus // held if held else 0
    return Parts(amount - bonus_part, bonus_part)


def refund_split(amount: int, *, money_in: int, paid: Parts, refunded_before: int, wallet_back_before: Parts) -> Parts:
    """The wallet's part of a refund of `amount` (the rest goes back through WeChat Pay): see the module's rules."""
    if money_in <= 0 or paid.total == 0:
        return NOTHING
    wallet_back = (refunded_before + amount) * paid.total // money_in
    principal_back = wallet_back * paid.principal // paid.total
    return Parts(principal_back - wallet_back_before.principal,
                 (wallet_back - principal_back) - wallet_back_before.bonus)


def reference(order_id: int, step: str, bucket: str) -> str:
    """The reference an order's wallet movement is written under, on both ledgers."""
    return f"wallet:{order_id}:{step}:{bucket}"


async def _move(order: Order, step: str, parts: Parts, *, into_wallet: bool, kind: str, floor: int | None = 0) -> None:
    """One movement of the order's wallet money, on both ledgers, bucket by bucket in name order. Raises
    `balances.Insufficient` when the wallet cannot give a part (nothing of it is written then)."""
    sign = 1 if into_wallet else -1
    for bucket in BUCKETS:
        amount = parts.of(bucket)
        if not amount:
            continue
        key = reference(order.id, step, bucket)
        if await balances.move(owner(order.customer_id), bucket, sign * amount, key, floor=floor,
                               note=f"order {order.number} {step}"):
            await ledger.record(account=ACCOUNTS[bucket], kind=kind, amount=-sign * amount, reference=key,
                                order_id=order.id)


async def take(order: Order, owed: int) -> Parts:
    """Inside the order's transaction, after its SKUs' rows: the wallet pays what it can of `owed`, principal and bonus
    in proportion. Returns what it took (nothing when the wallet is empty). The caller records it on the order
    (`walletPaid`, and `payable` less it)."""
    held = await locked_wallet(order.customer_id)
    principal, bonus = max(0, held.principal), max(0, held.bonus)
    usable = min(owed, principal + bonus)
    if usable <= 0:
        return NOTHING
    parts = split_spend(usable, principal, bonus)
    await _move(order, "take", parts, into_wallet=False, kind=ledger.PAYMENT)
    return parts


async def _parts(order_id: int, steps: tuple[str, ...]) -> Parts:
    """What the order's wallet movements of these steps moved into the shop, by bucket."""
    found: dict[str, int] = {}
    for bucket in BUCKETS:
        references = [reference(order_id, step, bucket) for step in steps]
        found[bucket] = sum(await column(LedgerEntry.filter(reference__in=references), "amount", int))
    return Parts(found[PRINCIPAL], found[BONUS])


async def release(order: Order) -> Parts:
    """Inside the cancelling transaction: the wallet part the order holds goes back whole, once."""
    held = await _parts(order.id, ("take", "retake"))
    await _move(order, "release", held, into_wallet=True, kind=ledger.RELEASE)
    return held


async def retake(order: Order) -> Parts:
    """A payment arrived for a cancelled order: the wallet part it gave back is taken again, the same parts, or
    `balances.Insufficient` (the order is then not revived and the payment goes back)."""
    released = await _parts(order.id, ("release",))
    parts = Parts(-released.principal, -released.bonus)
    await _move(order, "retake", parts, into_wallet=False, kind=ledger.PAYMENT)
    return parts


async def paid_parts(order: Order) -> Parts:
    """The wallet money the order holds now (taken, less given back on cancellation; refunds not deducted)."""
    return await _parts(order.id, ("take", "release", "retake"))


async def refund_parts(order: Order, amount: int, earlier: list[Refund]) -> Parts:
    """The wallet's part of a new refund of the sale of `amount`, given the sale's earlier refunds still counted (not
    rejected)."""
    before = Parts(sum(refund.wallet_principal for refund in earlier), sum(refund.wallet_bonus for refund in earlier))
    return refund_split(amount, money_in=order.money_in, paid=await paid_parts(order),
                        refunded_before=sum(refund.amount for refund in earlier), wallet_back_before=before)


async def give_back_refund(order: Order, refund: Refund) -> None:
    """Inside the refund's success: its wallet part goes back to the buckets it came from, once."""
    parts = Parts(refund.wallet_principal, refund.wallet_bonus)
    await _move(order, f"refund:{refund.id}", parts, into_wallet=True, kind=ledger.REFUND, floor=None)


async def mirror_mismatches() -> list[str]:
    """Every order wallet movement whose two sides disagree (the money ledger's entry is not minus the wallet's): what
    an audit reports."""
    shop = dict(await LedgerEntry.filter(account__in=tuple(ACCOUNTS.values())).values_list("reference", "amount"))
    wallet = dict(await BalanceEntry.filter(reference__startswith="wallet:", bucket__in=BUCKETS)
                  .exclude(reference__startswith="wallet:recharge:").values_list("reference", "amount"))
    return [f"wallet movement {reference}: order side {shop.get(reference)}, wallet side {wallet.get(reference)}"
            for reference in sorted(set(shop) | set(wallet))
            if shop.get(reference) is None or wallet.get(reference) is None or shop[reference] != -wallet[reference]]
