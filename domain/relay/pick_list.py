"""The pick list (备货单) staff print for a relay: per pickup point (and one group for address deliveries), the
item totals to prepare and every paid entry not refunded, by number, with the name and phone to hand it to."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from domain.identity.models import Customer
from domain.orders.models import Order, OrderLine, OrderStatus, PickupPoint
from domain.relay.models import Relay, RelayEntry

TO_HAND_OVER = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
"""The entries on the list: paid and not refunded (nor being refunded)."""
ADDRESS_GROUP = "快递配送"


@dataclass(frozen=True)
class PickLine:
    sku_id: int
    title: str
    specs: str
    quantity: int


@dataclass
class PickEntry:
    seq: int
    order_number: str
    name: str
    phone: str
    lines: list[PickLine]


@dataclass
class PickTotal:
    sku_id: int
    title: str
    specs: str
    units: int


@dataclass
class PickGroup:
    """One pickup point's share of the relay (`pickup_point_id` None: the entries sent to addresses)."""

    pickup_point_id: int | None
    name: str
    entries: list[PickEntry] = field(default_factory=list)

    @property
    def totals(self) -> list[PickTotal]:
        found: dict[int, PickTotal] = {}
        for entry in self.entries:
            for line in entry.lines:
                total = found.setdefault(line.sku_id, PickTotal(line.sku_id, line.title, line.specs, 0))
                total.units += line.quantity
        return sorted(found.values(), key=lambda total: total.sku_id)


def _specs(specs: list[dict[str, str]]) -> str:
    return " ".join(f"{spec['name']}:{spec['value']}" for spec in specs)


def _recipient(order: Order, customer: Customer | None) -> tuple[str, str]:
    """Who collects it: the address's name and phone, or the customer's own at a pickup point."""
    address = order.delivery.get("address")
    if address is not None:
        return str(address.get("name", "")), str(address.get("phone", ""))
    if customer is None:
        return "", ""
    return customer.nickname, customer.phone


async def pick_list(relay: Relay) -> list[PickGroup]:
    """Four queries whatever the relay's size: entries, orders, lines, customers (and the pickup points)."""
    entries = await RelayEntry.filter(relay_id=relay.id, seq__isnull=False,
                                      order__status__in=TO_HAND_OVER).order_by("seq")
    order_ids = [entry.order_id for entry in entries]
    orders = {order.id: order for order in await Order.filter(id__in=order_ids)}
    lines: dict[int, list[PickLine]] = {order_id: [] for order_id in order_ids}
    for line in await OrderLine.filter(order_id__in=order_ids).order_by("id"):
        lines[line.order_id].append(PickLine(line.sku_id, line.title, _specs(line.specs), line.quantity))
    customers = {c.id: c for c in await Customer.filter(id__in={entry.customer_id for entry in entries})}
    point_ids = list(relay.pickup_point_ids)
    point_ids += sorted({o.pickup_point_id for o in orders.values() if o.pickup_point_id is not None} - set(point_ids))
    names = {point.id: point.name for point in await PickupPoint.filter(id__in=point_ids)}
    groups: dict[int | None, PickGroup] = {pid: PickGroup(pid, names.get(pid, "")) for pid in point_ids}
    if relay.address_delivery or any(o.pickup_point_id is None for o in orders.values()):
        groups[None] = PickGroup(None, ADDRESS_GROUP)
    for entry in entries:
        order = orders[entry.order_id]
        name, phone = _recipient(order, customers.get(entry.customer_id))
        groups[order.pickup_point_id].entries.append(
            PickEntry(entry.seq or 0, order.number, name, phone, lines[order.id]))
    return list(groups.values())


CSV_HEADER = ["自提点", "序号", "姓名", "电话", "商品", "规格", "数量", "订单号"]
TOTAL = "合计"


def pick_list_csv(groups: list[PickGroup]) -> str:
    """The list as CSV for Excel: a UTF-8 byte order mark (so Chinese shows correctly), one row per entry line,
    then each group's totals."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for group in groups:
        for entry in group.entries:
            for line in entry.lines:
                writer.writerow([_cell(group.name), entry.seq, _cell(entry.name), _cell(entry.phone), _cell(line.title),
                                 _cell(line.specs), line.quantity, entry.order_number])
        for total in group.totals:
            writer.writerow([_cell(group.name), TOTAL, "", "", _cell(total.title), _cell(total.specs), total.units, ""])
    return out.getvalue()


def _cell(text: str) -> str:
    """A cell Excel shows as text: one starting with =, +, - or @ would be run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
