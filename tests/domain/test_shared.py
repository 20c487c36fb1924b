"""Equal lines and addresses are one object, and sharing never changes how an amount is spelled."""

from __future__ import annotations

from channelport.connectors.event_api_mapping import map_item
from channelport.domain.events import NewOrder
from channelport.domain.shared import Shared, shared_line, shared_shipping
from tests.connectors.event_api_support import NEW, entry
from tests.domain.builders import ANNA, BERND, line


def test_equal_lines_are_one_object_but_a_different_spelling_is_not_equal() -> None:
    first, again = line("1", gross_price="4.90"), line("1", gross_price="4.90")
    assert first is not again
    assert shared_line(first) is shared_line(again)
    other = shared_line(line("1", gross_price="4.9"))  # an equal Decimal, spelled otherwise
    assert other is not shared_line(first)
    assert str(other.gross_price) == "4.9" and str(shared_line(again).gross_price) == "4.90"
    assert shared_line(line("2", gross_price="4.90")) is not shared_line(first)  # another item id


def test_the_table_starts_again_when_full() -> None:
    table: Shared[str, int] = Shared(limit=3)
    for n in range(3):
        table.keep(str(n), n)
    assert len(table) == 3 and table.get("0") == 0
    table.keep("3", 3)
    assert len(table) == 1 and table.get("0") is None and table.get("3") == 3


def test_shipping_to_the_billing_address_is_the_billing_object() -> None:
    copy = type(ANNA)(**{name: getattr(ANNA, name) for name in ANNA.__slots__})
    assert copy is not ANNA
    assert shared_shipping(ANNA, copy) is ANNA
    assert shared_shipping(ANNA, BERND) is BERND
    assert shared_shipping(ANNA, None) is None
    assert shared_shipping(None, BERND) is BERND


def test_orders_from_the_wire_share_lines_and_keep_what_was_sent() -> None:
    one, _ = map_item(entry(NEW, id="ev-1"))
    two, _ = map_item(entry(NEW, id="ev-2"))
    assert isinstance(one.event, NewOrder) and isinstance(two.event, NewOrder)
    assert one.event.order.lines[0] is two.event.order.lines[0]
    assert str(one.event.order.lines[1].gross_price) == "4.90"
    assert one.raw["event"]["orderItem"][1]["grossPrice"] == "4.90"
    assert one.event.order.shipping_address is one.event.order.billing_address  # the example ships to billing
