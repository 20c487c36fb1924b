"""`domain.snapshots.expand`: a polling channel's order snapshot -> the five event types."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from channelport.domain.events import (
    Address,
    AddressUpdate,
    Buyer,
    CancellationAccepted,
    CancellationDenied,
    CancelledLine,
    ItemStatusChange,
    NewOrder,
    OrderSeen,
    OrderSnapshot,
    SeenCancellation,
    StatusUpdate,
)
from channelport.domain.export import order_export
from channelport.domain.order import OrderState
from channelport.domain.outcomes import Outcome
from channelport.domain.rules import apply
from channelport.domain.snapshots import expand
from tests.domain.builders import ANNA, BERND, SELLER, at, line

BASE_LINES = (line("1"), line("2", quantity="1", total="19.99"), line("S", type="SHIPPING", quantity="1", total="4.90", sku=None))


def snapshot(
    *,
    status: str = "ACCEPTED",
    items: dict[str, tuple[str, str]] | None = None,
    shipping: Address | None = ANNA,
    billing: Address | None = None,
    buyer: Buyer | None = Buyer(email="anna@example.org"),
) -> OrderSnapshot:
    lines = tuple(
        replace(base, item_status=items[base.order_item_id][0], item_payment_status=items[base.order_item_id][1])
        if items and base.order_item_id in items else base
        for base in BASE_LINES
    )
    return OrderSnapshot(
        seller_id=SELLER, order_id="A-1", order_status=status, purchased_at=at(0), last_changed_at=at(0),
        currency="EUR", lines=lines, payment_method="Standard", buyer=buyer, billing_address=billing,
        shipping_address=shipping,
    )


def seen(when: float, order: OrderSnapshot, *cancellations: SeenCancellation) -> OrderSeen:
    return OrderSeen(
        event_id=f"amz:A-1:{when}", created_at=at(when), seller_id=SELLER, order_id="A-1", order=order,
        cancellations=tuple(cancellations),
    )


def run(stored: OrderState | None, snap: OrderSeen) -> OrderState | None:
    """Expand and apply, as the engine does; every derived event must apply."""
    for event in expand(stored, snap):
        decision = apply(stored, event, seller_id=SELLER)
        assert decision.outcome is Outcome.APPLIED, (event, decision.reason)
        stored = decision.order
    return stored


def test_an_unknown_order_becomes_a_new_order_with_its_current_state():
    snap = seen(10, snapshot(status="SHIPPED", items={"1": ("SHIPPED", "PAID")}))
    (event,) = expand(None, snap)
    assert isinstance(event, NewOrder)
    assert (event.event_id, event.created_at, event.order_id) == ("amz:A-1:10#order", at(10), "A-1")
    assert event.order is snap.order


def test_an_unknown_order_brings_its_answers_after_the_new_order():
    accepted = SeenCancellation("A-1:buyer-cancel", "ACCEPTED", cancel_reason="BUYER_CANCELLED")
    events = expand(None, seen(10, snapshot(status="CANCELED_BY_SELLER"), accepted))
    assert [type(e) for e in events] == [NewOrder, CancellationAccepted]
    assert events[1].event_id == "amz:A-1:10#cancellation:A-1:buyer-cancel"
    state = run(None, seen(10, snapshot(status="CANCELED_BY_SELLER"), accepted))
    assert state is not None and state.shown_status == "CANCELED_BY_SELLER"
    assert all(l.cancelled_quantity == l.line.quantity for l in state.lines)


def test_nothing_differs_nothing_is_derived():
    state = run(None, seen(10, snapshot()))
    assert expand(state, seen(10, snapshot())) == []
    assert expand(state, seen(20, snapshot())) == []  # a newer instant alone is no change


def test_a_status_change_lists_only_the_items_that_changed_and_only_their_changed_fields():
    state = run(None, seen(10, snapshot(items={"2": ("UNSHIPPED", "PENDING")})))
    later = snapshot(status="PARTIALLY_SHIPPED", items={"1": ("SHIPPED", "PAID"), "2": ("UNSHIPPED", "PAID")})
    (event,) = expand(state, seen(20, later))
    assert isinstance(event, StatusUpdate)
    assert (event.event_id, event.created_at, event.order_status) == ("amz:A-1:20#status", at(20), "PARTIALLY_SHIPPED")
    assert event.items == (ItemStatusChange("1", item_status="SHIPPED"), ItemStatusChange("2", payment_status="PAID"))


def test_an_item_change_alone_still_carries_the_order_status():
    state = run(None, seen(10, snapshot()))
    (event,) = expand(state, seen(20, snapshot(items={"S": ("SHIPPED", "PAID")})))
    assert isinstance(event, StatusUpdate) and event.order_status == "ACCEPTED"
    assert event.items == (ItemStatusChange("S", item_status="SHIPPED"),)


def test_items_the_stored_order_does_not_have_are_left_out():
    state = run(None, seen(10, snapshot()))
    extra = replace(snapshot(status="SHIPPED"), lines=(*BASE_LINES, line("9", item_status="SHIPPED")))
    (event,) = expand(state, seen(20, extra))
    assert isinstance(event, StatusUpdate) and event.items == ()
    assert apply(state, event, seller_id=SELLER).outcome is Outcome.APPLIED


def test_an_address_change_carries_only_the_parts_that_changed():
    state = run(None, seen(10, snapshot(billing=ANNA)))
    (event,) = expand(state, seen(20, snapshot(billing=ANNA, shipping=BERND)))
    assert isinstance(event, AddressUpdate)
    assert (event.event_id, event.shipping_address, event.billing_address, event.buyer) == (
        "amz:A-1:20#address", BERND, None, None,
    )


def test_a_part_the_snapshot_does_not_carry_is_not_a_removal():
    state = run(None, seen(10, snapshot(billing=ANNA)))
    assert expand(state, seen(20, snapshot(shipping=None, billing=None, buyer=None))) == []


def test_status_before_address_before_answers_and_all_apply_at_one_instant():
    state = run(None, seen(10, snapshot()))
    denied = SeenCancellation("R-2", "DENIED", reason="shipped")
    accepted = SeenCancellation("R-1", "ACCEPTED", cancel_reason="OUT_OF_STOCK", lines=(CancelledLine("2", Decimal(1)),))
    snap = seen(20, snapshot(status="SHIPPED", items={"1": ("SHIPPED", "PAID")}, shipping=BERND), accepted, denied)
    events = expand(state, snap)
    assert [type(e) for e in events] == [StatusUpdate, AddressUpdate, CancellationAccepted, CancellationDenied]
    assert len({e.event_id for e in events}) == 4
    final = run(state, snap)
    assert final is not None
    exported = order_export("amazon", final)
    assert exported["orderStatus"] == "SHIPPED"
    assert [i["cancelledQuantity"] for i in exported["orderItem"]] == ["0", "1", "0"]
    assert [r["state"] for r in exported["cancellationRequests"]] == ["ACCEPTED", "DENIED"]
    assert expand(final, snap) == []


def test_a_stored_answer_is_never_derived_again_even_when_the_channel_answers_otherwise():
    denied = SeenCancellation("R-1", "DENIED", reason="too late")
    state = run(None, seen(10, snapshot(), denied))
    accepted = SeenCancellation("R-1", "ACCEPTED", cancel_reason="OTHER")
    assert expand(state, seen(20, snapshot(), accepted)) == []


def test_an_open_request_is_no_answer_and_a_missing_reason_is_other():
    state = run(None, seen(10, snapshot()))
    assert expand(state, seen(20, snapshot(), SeenCancellation("R-1", "REQUESTED"))) == []
    (event,) = expand(state, seen(30, snapshot(), SeenCancellation("R-1", "ACCEPTED")))
    assert isinstance(event, CancellationAccepted) and event.cancel_reason == "OTHER"


def test_the_order_status_is_compared_with_the_stored_not_the_shown_one():
    """A fully cancelled order shows CANCELED_BY_SELLER; the channel's own status still counts."""
    everything = SeenCancellation("R-1", "ACCEPTED", cancel_reason="OUT_OF_STOCK")
    state = run(None, seen(10, snapshot(), everything))
    assert state is not None and state.shown_status == "CANCELED_BY_SELLER" and state.status == "ACCEPTED"
    (event,) = expand(state, seen(20, snapshot(status="CANCELED_BY_SELLER")))
    assert isinstance(event, StatusUpdate) and event.order_status == "CANCELED_BY_SELLER"


def test_derived_ids_are_deterministic():
    state = run(None, seen(10, snapshot()))
    snap = seen(20, snapshot(status="SHIPPED", shipping=BERND), SeenCancellation("R-1", "DENIED"))
    assert [e.event_id for e in expand(state, snap)] == [e.event_id for e in expand(state, snap)]


# --------------------------------------------------------------------------- properties

ORDER_STATUS = st.sampled_from(["CREATED", "ACCEPTED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELED_BY_SELLER"])
ITEM_STATUS = st.sampled_from(["UNSHIPPED", "SHIPPED", "CANCELED_BY_SELLER", "REFUNDED"])
PAYMENT = st.sampled_from(["PENDING", "PAID"])
ADDRESS = st.sampled_from([None, ANNA, BERND, Address(last_name="Cem", city="Köln", country="DE")])
BUYER = st.sampled_from([None, Buyer(email="a@example.org"), Buyer(email="b@example.org")])
ANSWER = st.sampled_from(
    [
        SeenCancellation("R-1", "ACCEPTED", cancel_reason="OUT_OF_STOCK", lines=(CancelledLine("1", Decimal(1)),)),
        SeenCancellation("R-2", "DENIED", reason="shipped"),
        SeenCancellation("R-3", "REQUESTED"),
    ]
)


@st.composite
def histories(draw: st.DrawFn) -> list[OrderSeen]:
    """The states a channel lists for one order over time (a poller sees some of them)."""
    count = draw(st.integers(1, 6))
    gaps = draw(st.lists(st.integers(1, 3600), min_size=count, max_size=count))
    answers: list[SeenCancellation] = []
    result = []
    when = 0
    for gap in gaps:
        when += gap
        items = {item_id: (draw(ITEM_STATUS), draw(PAYMENT)) for item_id in ("1", "2", "S")}
        snap = snapshot(status=draw(ORDER_STATUS), items=items, shipping=draw(ADDRESS), billing=draw(ADDRESS),
                        buyer=draw(BUYER))
        new_answer = draw(ANSWER)
        if all(a.request_id != new_answer.request_id for a in answers) and draw(st.booleans()):
            answers.append(new_answer)
        result.append(seen(when, snap, *answers))
    return result


def expected_parts(history: list[OrderSeen]) -> tuple[str, list[tuple[str, str]], Address | None, Address | None, Buyer | None]:
    last = history[-1].order
    def latest(part: str):  # the last value the channel showed for a part it showed at all
        values = [getattr(s.order, part) for s in history if getattr(s.order, part) is not None]
        return values[-1] if values else None
    return (
        last.order_status,
        [(l.item_status, l.item_payment_status) for l in last.lines],
        latest("billing_address"),
        latest("shipping_address"),
        latest("buyer"),
    )


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_whatever_snapshots_a_poller_sees_the_order_ends_as_the_last_one_shows(history, data):
    """Skipped, repeated (overlap) and re-read snapshots all end in the last listed state."""
    chosen = sorted(set(data.draw(st.lists(st.integers(0, len(history) - 1), max_size=8)) + [len(history) - 1]))
    repeats = data.draw(st.lists(st.sampled_from(chosen), max_size=3))
    state = None
    for index in sorted(chosen + repeats):
        state = run(state, history[index])
    assert state is not None
    status, items, billing, shipping, buyer = expected_parts([history[i] for i in chosen])
    assert state.status == status
    assert [(l.item_status, l.payment_status) for l in state.lines] == items
    assert (state.billing_address, state.shipping_address, state.buyer) == (billing, shipping, buyer)
    answered = {a.request_id: a.state for s in (history[i] for i in chosen) for a in s.cancellations if a.state != "REQUESTED"}
    assert {c.request_id: c.state for c in state.cancellations} == answered
    assert expand(state, history[chosen[-1]]) == []  # read again: nothing


def test_a_derived_event_older_than_the_stored_version_is_stale_not_wrong():
    """A snapshot older than what is stored (a slow replica) derives events the rules refuse."""
    state = run(None, seen(100, snapshot(status="SHIPPED")))
    events = expand(state, seen(50, snapshot(status="ACCEPTED")))
    assert [apply(state, e, seller_id=SELLER).outcome for e in events] == [Outcome.STALE]
