"""The sold-out marks' own rules, with a clock the test moves."""

from domain.flash_sale.pool import Take
from domain.flash_sale.sold_out import SoldOutMarks

SALE, SKU, BUYER, STRANGER = 1, 10, 100, 200


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_buyer_the_pool_answered_keeps_asking_it_after_the_pool_is_reloaded():
    marks = SoldOutMarks(ttl=60, clock=Clock())
    marks.heard(SALE, SKU, BUYER, 1, Take.OK, marks.generation)
    marks.returned(SALE)  # e.g. this process hearing its own "pool loaded" message late
    marks.heard(SALE, SKU, STRANGER, 1, Take.SOLD_OUT, marks.generation)

    assert marks.sold_out(SALE, SKU, STRANGER, 1)
    assert not marks.sold_out(SALE, SKU, BUYER, 1), "the pool, not a mark, tells a buyer they are at their limit"


def test_a_mark_refuses_at_least_its_quantity_until_units_come_back():
    marks = SoldOutMarks(ttl=60, clock=Clock())
    marks.heard(SALE, SKU, STRANGER, 2, Take.SOLD_OUT, marks.generation)

    assert marks.sold_out(SALE, SKU, STRANGER, 2)
    assert not marks.sold_out(SALE, SKU, STRANGER, 1)
    marks.returned(SALE, SKU)
    assert not marks.sold_out(SALE, SKU, STRANGER, 2)


def test_a_sold_out_answer_in_flight_while_units_came_back_marks_nothing():
    marks = SoldOutMarks(ttl=60, clock=Clock())
    asked_at = marks.generation
    marks.returned(SALE, SKU)
    marks.heard(SALE, SKU, STRANGER, 1, Take.SOLD_OUT, asked_at)

    assert not marks.sold_out(SALE, SKU, STRANGER, 1)


def test_a_mark_past_its_time_lets_one_attempt_ask_and_keeps_the_others_out():
    clock = Clock()
    marks = SoldOutMarks(ttl=0.5, clock=clock)
    marks.heard(SALE, SKU, STRANGER, 1, Take.SOLD_OUT, marks.generation)
    clock.now = 0.6

    assert not marks.sold_out(SALE, SKU, STRANGER, 1)
    assert marks.sold_out(SALE, SKU, STRANGER, 1)


def test_only_looking_leaves_a_mark_past_its_time_for_the_attempt_that_asks():
    clock = Clock()
    marks = SoldOutMarks(ttl=0.5, clock=clock)
    marks.heard(SALE, SKU, STRANGER, 1, Take.SOLD_OUT, marks.generation)

    assert marks.sold_out(SALE, SKU, STRANGER, 1, claim=False)
    clock.now = 0.6
    assert not marks.sold_out(SALE, SKU, STRANGER, 1, claim=False)
    assert not marks.sold_out(SALE, SKU, STRANGER, 1, claim=False), "looking claimed nothing"
    assert not marks.sold_out(SALE, SKU, STRANGER, 1)
    assert marks.sold_out(SALE, SKU, STRANGER, 1, claim=False)
