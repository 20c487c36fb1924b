"""One test per rule of docs/order-semantics.md, applied through `rules.apply`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from channelport.domain.events import Buyer
from channelport.domain.order import OrderState
from channelport.domain.outcomes import Change, Outcome
from channelport.domain.rules import apply

from .builders import (
    ANNA,
    BERND,
    SELLER,
    accepted,
    address_update,
    at,
    denied,
    item,
    line,
    new_order,
    status_update,
)


def created(**kwargs) -> OrderState:
    decision = apply(None, new_order(**kwargs), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    assert decision.order is not None
    return decision.order


def applied(order: OrderState, event) -> OrderState:
    decision = apply(order, event, seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED, decision.reason
    assert decision.order is not None
    return decision.order


# --- New ---------------------------------------------------------------------------------


def test_new_creates_the_order_with_every_part_at_its_created_at():
    event = new_order(when=at(5))
    decision = apply(None, event, seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    order = decision.order
    assert order.order_id == "O-1" and order.status == "CREATED" and order.currency == "EUR"
    assert order.status_at == order.billing_at == order.shipping_at == order.buyer_at == at(5)
    assert [state.line for state in order.lines] == list(event.order.lines)
    assert all(state.cancelled_quantity == 0 for state in order.lines)
    assert [(s.item_status, s.payment_status) for s in order.lines] == [("UNSHIPPED", "PAID")] * 2
    assert order.cancellations == ()
    assert order.billing_address == ANNA and order.buyer == Buyer(email="anna@example.org")
    assert decision.changes == (Change("order", None, "CREATED"),)


def test_new_for_a_known_order_is_a_duplicate_whatever_its_payload():
    order = created()
    decision = apply(order, new_order(status="SHIPPED", when=at(9)), seller_id=SELLER)
    assert decision.outcome is Outcome.DUPLICATE
    assert decision.order is order and decision.changes == ()


@pytest.mark.parametrize("order_present", [False, True])
def test_other_seller_is_rejected_before_anything_else(order_present):
    order = created() if order_present else None
    for event in (
        new_order(seller="S-9"),
        status_update(when=at(1), seller="S-9"),
        address_update(when=at(1), billing=BERND, seller="S-9"),
        accepted(when=at(1), seller="S-9"),
        denied(when=at(1), seller="S-9"),
    ):
        decision = apply(order, event, seller_id=SELLER)
        assert decision.outcome is Outcome.REJECTED, event
        assert "S-9" in decision.reason
        assert decision.order is order


def test_events_for_an_unknown_order_are_parked():
    for event in (
        status_update(when=at(1)),
        address_update(when=at(1), billing=BERND),
        accepted(when=at(1)),
        denied(when=at(1)),
    ):
        decision = apply(None, event, seller_id=SELLER)
        assert decision.outcome is Outcome.PARKED
        assert decision.order is None and decision.changes == ()


# --- StatusUpdate --------------------------------------------------------------------------


def test_status_update_sets_status_and_listed_item_fields():
    order = created()
    decision = apply(
        order,
        status_update(when=at(2), status="SHIPPED", items=(item("1", "SHIPPED"), item("2", payment="PENDING"))),
        seller_id=SELLER,
    )
    assert decision.outcome is Outcome.APPLIED
    new = decision.order
    assert new.status == "SHIPPED" and new.status_at == at(2) and new.last_changed_at == at(2)
    assert [(s.item_status, s.payment_status) for s in new.lines] == [("SHIPPED", "PAID"), ("UNSHIPPED", "PENDING")]
    assert decision.changes == (
        Change("status", "CREATED", "SHIPPED"),
        Change("item:1", {"itemStatus": "UNSHIPPED"}, {"itemStatus": "SHIPPED"}),
        Change("item:2", {"itemPaymentStatus": "PAID"}, {"itemPaymentStatus": "PENDING"}),
    )
    assert new.billing_at == order.billing_at  # other parts untouched


def test_new_order_sets_every_field_version():
    order = created(when=at(5))
    assert all(line.status_at == line.payment_at == at(5) for line in order.lines)


def test_older_status_update_is_stale():
    order = applied(created(), status_update(when=at(5), status="SHIPPED", items=(item("1", "SHIPPED"),)))
    decision = apply(
        order, status_update(when=at(3), status="ACCEPTED", items=(item("1", "UNSHIPPED"),)), seller_id=SELLER
    )
    assert decision.outcome is Outcome.STALE
    assert decision.order is order
    assert "orderStatus stale" in decision.reason and "item 1 itemStatus stale" in decision.reason


def test_older_status_update_still_sets_the_item_fields_no_newer_change_touched():
    # Per field: item 1's change must not be lost because a newer update listed other items.
    newer = status_update(when=at(5), status="PARTIALLY_SHIPPED", items=(item("2", "SHIPPED"),))
    older = status_update(
        when=at(3), status="ACCEPTED", items=(item("1", "SHIPPED", "PENDING"), item("2", "UNSHIPPED"))
    )
    order = applied(created(), newer)
    decision = apply(order, older, seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    new = decision.order
    assert new.status == "PARTIALLY_SHIPPED" and new.status_at == at(5)
    assert (new.lines[0].item_status, new.lines[0].payment_status) == ("SHIPPED", "PENDING")
    assert new.lines[0].status_at == new.lines[0].payment_at == at(3)
    assert new.lines[1].item_status == "SHIPPED" and new.lines[1].status_at == at(5)
    assert "orderStatus stale" in decision.reason and "item 2 itemStatus stale" in decision.reason
    assert decision.changes == (
        Change(
            "item:1",
            {"itemStatus": "UNSHIPPED", "itemPaymentStatus": "PAID"},
            {"itemStatus": "SHIPPED", "itemPaymentStatus": "PENDING"},
        ),
    )
    # and the same final state as in createdAt order
    assert new == applied(applied(created(), older), newer)


def test_a_line_without_versions_takes_the_order_status_version():
    order = applied(created(), status_update(when=at(5), status="SHIPPED"))
    unversioned = replace(order, lines=tuple(replace(line, status_at=None, payment_at=None) for line in order.lines))
    older = status_update(when=at(3), status="ACCEPTED", items=(item("1", "SHIPPED"),))
    assert apply(unversioned, older, seller_id=SELLER).outcome is Outcome.STALE
    newer = status_update(when=at(6), status="SHIPPED", items=(item("1", "SHIPPED"),))
    assert apply(unversioned, newer, seller_id=SELLER).order.lines[0].status_at == at(6)


def test_status_update_at_the_same_instant_is_duplicate_when_equal_and_stale_when_not():
    order = applied(created(), status_update(when=at(5), status="SHIPPED", items=(item("1", "SHIPPED"),)))
    same = status_update(when=at(5), status="SHIPPED", items=(item("1", "SHIPPED"),))
    other = status_update(when=at(5), status="ACCEPTED")
    assert apply(order, same, seller_id=SELLER).outcome is Outcome.DUPLICATE
    assert apply(order, other, seller_id=SELLER).outcome is Outcome.STALE


def test_newer_status_update_repeating_the_values_is_applied_and_moves_the_version():
    order = created()
    decision = apply(order, status_update(when=at(4), status="CREATED"), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    assert decision.changes == () and decision.order.status_at == at(4)


def test_status_update_naming_an_unknown_item_is_rejected():
    order = created()
    decision = apply(
        order, status_update(when=at(2), items=(item("1", "SHIPPED"), item("7", "SHIPPED"))), seller_id=SELLER
    )
    assert decision.outcome is Outcome.REJECTED
    assert "'7'" in decision.reason and decision.order is order


# --- AddressUpdate -------------------------------------------------------------------------


def test_address_update_replaces_present_parts_only():
    order = created()
    decision = apply(order, address_update(when=at(2), shipping=BERND), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    new = decision.order
    assert new.shipping_address == BERND and new.shipping_at == at(2)
    assert new.billing_address == ANNA and new.billing_at == at(0)
    assert new.buyer_at == at(0)
    [change] = decision.changes
    assert change.part == "shipping_address"
    assert change.before["firstName"] == "Anna" and change.after["companyName"] == "Bauer GmbH"
    assert change.after["phone"] is None and len(change.after) == 9


def test_address_parts_are_versioned_one_by_one():
    order = applied(created(), address_update(when=at(5), billing=BERND))
    # billing is older than its version, shipping is newer: the shipping part applies.
    decision = apply(order, address_update(when=at(3), billing=ANNA, shipping=BERND), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    assert decision.order.billing_address == BERND and decision.order.shipping_address == BERND
    assert "billing_address stale" in decision.reason


def test_address_update_outcome_is_duplicate_only_when_every_present_part_is():
    order = applied(created(), address_update(when=at(5), billing=BERND, buyer=Buyer(email="b@example.org")))
    again = address_update(when=at(5), billing=BERND, buyer=Buyer(email="b@example.org"))
    assert apply(order, again, seller_id=SELLER).outcome is Outcome.DUPLICATE
    mixed = address_update(when=at(5), billing=BERND, buyer=Buyer(email="c@example.org"))
    assert apply(order, mixed, seller_id=SELLER).outcome is Outcome.STALE
    older = address_update(when=at(1), billing=BERND)
    assert apply(order, older, seller_id=SELLER).outcome is Outcome.STALE


def test_buyer_change_is_recorded_in_export_spelling():
    order = created()
    decision = apply(
        order, address_update(when=at(2), buyer=Buyer(email="x@example.org", vat_id="DE1")), seller_id=SELLER
    )
    assert decision.changes == (
        Change("buyer", {"email": "anna@example.org", "vatId": None}, {"email": "x@example.org", "vatId": "DE1"}),
    )


# --- CancellationAccepted -----------------------------------------------------------------


def test_accepted_cancellation_of_named_quantities_is_capped():
    order = created()
    once = applied(order, accepted(when=at(2), request_id="R-1", lines={"1": "1"}))
    assert once.lines[0].cancelled_quantity == 1 and once.lines[0].shown_status == "UNSHIPPED"
    twice = applied(once, accepted(when=at(3), request_id="R-2", lines={"1": "5"}))
    assert twice.lines[0].cancelled_quantity == 2
    assert twice.lines[0].shown_status == "CANCELED_BY_SELLER"
    assert twice.lines[1].cancelled_quantity == 0
    assert twice.shown_status == "CREATED"  # the shipping line is still open
    assert twice.status_at == at(0)


def test_accepted_cancellation_records_the_request_and_its_changes():
    decision = apply(created(), accepted(when=at(2), request_id="R-1", lines={"1": "1"}), seller_id=SELLER)
    assert decision.changes == (
        Change("item:1", {"cancelledQuantity": "0"}, {"cancelledQuantity": "1"}),
        Change(
            "cancellation:R-1",
            None,
            {"orderCancellationRequestId": "R-1", "state": "ACCEPTED", "cancelReason": "OUT_OF_STOCK", "reason": None},
        ),
    )
    [request] = decision.order.cancellations
    assert (request.request_id, request.state, request.created_at) == ("R-1", "ACCEPTED", at(2))


def test_whole_order_cancellation_cancels_everything_and_is_a_status_change():
    order = applied(created(), status_update(when=at(1), status="ACCEPTED"))
    decision = apply(order, accepted(when=at(4)), seller_id=SELLER)
    new = decision.order
    assert [s.cancelled_quantity for s in new.lines] == [Decimal(2), Decimal(1)]
    assert new.shown_status == "CANCELED_BY_SELLER" and new.status == "ACCEPTED"
    assert all(s.shown_status == "CANCELED_BY_SELLER" for s in new.lines)
    assert new.status_at == at(4)
    assert Change("status", "ACCEPTED", "CANCELED_BY_SELLER") in decision.changes
    # so an older status update arriving later is stale
    assert apply(new, status_update(when=at(3), status="SHIPPED"), seller_id=SELLER).outcome is Outcome.STALE


def test_payment_status_set_before_a_full_cancellation_survives_late_delivery():
    new = new_order(lines=(line("1", payment="PENDING"),))
    paid = status_update(when=at(1), status="ACCEPTED", items=(item("1", payment="PAID"),))
    cancelled = accepted(when=at(2))
    in_order = applied(applied(created_from(new), paid), cancelled)
    late = apply(applied(created_from(new), cancelled), paid, seller_id=SELLER)
    assert late.outcome is Outcome.APPLIED and "orderStatus stale" in late.reason
    assert late.order.lines[0].payment_status == in_order.lines[0].payment_status == "PAID"
    assert late.order.shown_status == in_order.shown_status == "CANCELED_BY_SELLER"


def created_from(event) -> OrderState:
    return apply(None, event, seller_id=SELLER).order


def test_cancellation_is_never_stale():
    order = applied(created(), status_update(when=at(9), status="ACCEPTED"))
    decision = apply(order, accepted(when=at(3)), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    assert decision.order.shown_status == "CANCELED_BY_SELLER"
    assert decision.order.status_at == at(9)  # max(version, createdAt)


def test_cancellation_wins_over_a_newer_item_status():
    order = applied(created(), accepted(when=at(2), lines={"1": "2"}))
    order = applied(order, status_update(when=at(3), status="SHIPPED", items=(item("1", "SHIPPED"),)))
    assert order.lines[0].item_status == "SHIPPED" and order.lines[0].shown_status == "CANCELED_BY_SELLER"


def test_full_cancellation_by_parts_takes_the_latest_acceptance_as_status_version():
    # Whatever order the two halves arrive in, the status version is the later one.
    first = accepted(when=at(2), request_id="R-1", lines={"1": "2"})
    second = accepted(when=at(6), request_id="R-2", lines={"2": "1"})
    for events in ((first, second), (second, first)):
        order = created()
        for event in events:
            order = applied(order, event)
        assert order.shown_status == "CANCELED_BY_SELLER" and order.status_at == at(6)


def test_same_acceptance_again_is_a_duplicate_and_a_denial_of_it_a_conflict():
    order = applied(created(), accepted(when=at(2), request_id="R-1", lines={"1": "1"}))
    again = apply(order, accepted(when=at(2), request_id="R-1", lines={"1": "1"}), seller_id=SELLER)
    assert again.outcome is Outcome.DUPLICATE and again.order is order
    conflict = apply(order, denied(when=at(3), request_id="R-1"), seller_id=SELLER)
    assert conflict.outcome is Outcome.REJECTED and "conflicting answer" in conflict.reason


def test_acceptance_naming_an_unknown_item_is_rejected():
    decision = apply(created(), accepted(when=at(2), lines={"9": "1"}), seller_id=SELLER)
    assert decision.outcome is Outcome.REJECTED and "'9'" in decision.reason


def test_acceptance_with_a_negative_quantity_is_rejected():
    decision = apply(created(), accepted(when=at(2), lines={"1": "-1"}), seller_id=SELLER)
    assert decision.outcome is Outcome.REJECTED


# --- CancellationDenied -------------------------------------------------------------------


def test_denial_is_recorded_and_changes_nothing_else():
    order = created()
    decision = apply(order, denied(when=at(2), request_id="R-7", reason="shipped already"), seller_id=SELLER)
    assert decision.outcome is Outcome.APPLIED
    new = decision.order
    assert new.lines == order.lines and new.status == order.status and new.status_at == order.status_at
    [request] = new.cancellations
    assert (request.state, request.reason, request.cancel_reason) == ("DENIED", "shipped already", None)
    assert decision.changes == (
        Change(
            "cancellation:R-7",
            None,
            {"orderCancellationRequestId": "R-7", "state": "DENIED", "cancelReason": None, "reason": "shipped already"},
        ),
    )


def test_same_denial_again_is_a_duplicate_and_an_acceptance_of_it_a_conflict():
    order = applied(created(), denied(when=at(2), request_id="R-1"))
    assert apply(order, denied(when=at(2), request_id="R-1"), seller_id=SELLER).outcome is Outcome.DUPLICATE
    conflict = apply(order, accepted(when=at(3), request_id="R-1"), seller_id=SELLER)
    assert conflict.outcome is Outcome.REJECTED and "conflicting answer" in conflict.reason
    assert conflict.order.lines == order.lines


# --- last changed -------------------------------------------------------------------------


def test_last_changed_at_is_the_latest_applied_change():
    order = created()
    order = applied(order, address_update(when=at(7), billing=BERND))
    order = applied(order, accepted(when=at(3), lines={"1": "1"}))
    assert order.last_changed_at == at(7)
    stale = apply(order, address_update(when=at(5), billing=ANNA), seller_id=SELLER)
    assert stale.outcome is Outcome.STALE and stale.order.last_changed_at == at(7)


def test_unchanged_lines_are_shared_not_copied():
    order = created(lines=(line("1"), line("2"), line("3")))
    new = applied(order, status_update(when=at(2), items=(item("2", "SHIPPED"),)))
    assert new.lines[0] is order.lines[0] and new.lines[2] is order.lines[2]
    assert new.lines[1] is not order.lines[1]
    assert replace(new.lines[1], item_status="UNSHIPPED", status_at=at(0)) == order.lines[1]
