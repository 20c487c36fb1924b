"""Orders read back are equal to what was stored, share equal values, and keep the channel's spelling."""

from __future__ import annotations

from channelport.domain.rules import created_order
from channelport.services import accounts
from channelport.store.db import read_only, unit_of_work
from channelport.store.orders import insert_orders, load_orders
from tests.domain.builders import ANNA, BERND, line, new_order


def test_read_back_orders_are_equal_share_lines_and_keep_spelling(rt, clock):
    account = accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9/",
                                   seller_id="S-1001", token="t")
    shipping_line = line("2", type="SHIPPING", quantity="1", gross_price="4.90", total="4.90", sku=None)
    states = [
        created_order(new_order("O-1", lines=(line("1"), shipping_line))),
        created_order(new_order("O-2", lines=(line("1"), shipping_line), shipping=BERND)),
        created_order(new_order("O-3", lines=(line("1", gross_price="19.990", total="39.980"),))),
    ]
    with unit_of_work(rt.engine) as conn:
        insert_orders(conn, account.id, states, now=clock())
    with read_only(rt.engine) as conn:
        read = load_orders(conn, account.id, ["O-1", "O-2", "O-3"])
    loaded = {order_id: state for order_id, (_pk, state) in read.items()}

    assert [loaded[s.order_id] for s in states] == states
    one, two, three = loaded["O-1"], loaded["O-2"], loaded["O-3"]
    assert one.lines[0].line is two.lines[0].line and one.lines[1].line is two.lines[1].line
    assert three.lines[0].line is not one.lines[0].line  # equal amount, other spelling
    assert str(three.lines[0].line.gross_price) == "19.990" and str(one.lines[1].line.gross_price) == "4.90"
    assert one.shipping_address is one.billing_address and one.billing_address == ANNA
    assert two.shipping_address == BERND and two.billing_address == ANNA
    assert one.purchased_at is one.billing_at  # one instant object per stored text
