"""The batch policy of `inbox.process`: dedupe by id, ignore disabled types, park, unpark."""

from __future__ import annotations

from channelport.domain.events import EVENT_TYPES, EventType
from channelport.domain.inbox import InboxView, ParkedEvent, process
from channelport.domain.outcomes import Outcome
from channelport.domain.rules import apply

from .builders import BERND, SELLER, accepted, address_update, at, item, new_order, status_update

ALL = frozenset(EVENT_TYPES)


def run(events, view: InboxView | None = None, enabled=ALL):
    return process(view or InboxView(), events, seller_id=SELLER, enabled=enabled)


def outcomes(result):
    return [r.outcome for r in result.results]


def test_one_result_per_event_in_delivery_order():
    events = [new_order("A"), new_order("B"), status_update("A", when=at(1))]
    result = run(events)
    assert [r.event for r in result.results] == events
    assert outcomes(result) == [Outcome.APPLIED] * 3
    assert result.created == {"A", "B"}
    assert set(result.orders) == {"A", "B"} and result.orders["A"].status == "ACCEPTED"
    assert result.resolved == []


def test_event_id_recorded_with_a_final_outcome_is_a_duplicate_without_a_row():
    event = status_update(when=at(1), event_id="e1")
    order = apply(None, new_order(), seller_id=SELLER).order
    for recorded in (Outcome.APPLIED, Outcome.PARKED, Outcome.STALE, Outcome.REJECTED, Outcome.DUPLICATE):
        result = run([event], InboxView(orders={"O-1": order}, seen={"e1": recorded}))
        [r] = result.results
        assert (r.outcome, r.record) == (Outcome.DUPLICATE, False)
        assert result.orders == {}


def test_event_id_recorded_as_ignored_is_processed_again():
    order = apply(None, new_order(), seller_id=SELLER).order
    event = status_update(when=at(1), event_id="e1")
    result = run([event], InboxView(orders={"O-1": order}, seen={"e1": Outcome.IGNORED}))
    [r] = result.results
    assert (r.outcome, r.record) == (Outcome.APPLIED, True)


def test_event_id_repeated_in_the_batch_is_a_duplicate():
    event = new_order(event_id="e1")
    result = run([event, event])
    assert [(r.outcome, r.record) for r in result.results] == [(Outcome.APPLIED, True), (Outcome.DUPLICATE, False)]


def test_same_change_under_a_new_id_is_a_duplicate_by_content_and_gets_its_row():
    result = run([new_order(event_id="e1"), new_order(event_id="e2")])
    assert [(r.outcome, r.record) for r in result.results] == [(Outcome.APPLIED, True), (Outcome.DUPLICATE, True)]


def test_disabled_type_is_ignored_and_recorded():
    result = run([new_order(), status_update(when=at(1))], enabled=frozenset({EventType.ORDER}))
    assert outcomes(result) == [Outcome.APPLIED, Outcome.IGNORED]
    assert result.results[1].record and result.orders["O-1"].status == "CREATED"


def test_events_parked_in_the_batch_report_their_final_outcome_once_the_order_arrives():
    events = [
        status_update(when=at(3), status="SHIPPED"),
        status_update(when=at(1), status="ACCEPTED"),  # older, but applied first: createdAt order
        status_update(when=at(3), status="SHIPPED"),  # the first one again under a new id
        address_update(when=at(2), billing=BERND),
        new_order(when=at(0)),
    ]
    result = run(events)
    assert outcomes(result) == [Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED, Outcome.APPLIED]
    assert all(r.record for r in result.results)
    assert result.resolved == []
    order = result.orders["O-1"]
    assert order.status == "SHIPPED" and order.billing_address == BERND


def test_parked_events_are_applied_in_created_at_order_not_arrival_order():
    # In arrival order the older update would come second and be stale; in createdAt order both apply.
    events = [
        status_update(when=at(2), status="SHIPPED", items=(item("1", "SHIPPED"),)),
        status_update(when=at(1), status="ACCEPTED", items=(item("1", "UNSHIPPED", "PENDING"),)),
    ]
    result = run([*events, new_order()])
    assert outcomes(result) == [Outcome.APPLIED, Outcome.APPLIED, Outcome.APPLIED]
    order = result.orders["O-1"]
    assert (order.status, order.lines[0].item_status, order.lines[0].payment_status) == (
        "SHIPPED",
        "SHIPPED",
        "PENDING",
    )


def test_events_parked_by_an_earlier_batch_are_resolved_when_the_order_arrives():
    stored = accepted(when=at(5), event_id="p1")
    fresh = status_update(when=at(1), status="ACCEPTED")
    result = run([fresh, new_order()], InboxView(parked={"O-1": [ParkedEvent(stored)]}))
    assert outcomes(result) == [Outcome.APPLIED, Outcome.APPLIED]
    [resolved] = result.resolved
    assert resolved.event is stored and resolved.outcome is Outcome.APPLIED
    assert any(change.part == "cancellation:R-1" for change in resolved.changes)
    assert result.orders["O-1"].shown_status == "CANCELED_BY_SELLER"


def test_stored_parked_redelivered_under_its_id_is_resolved_once():
    stored = status_update(when=at(1), event_id="p1")
    view = InboxView(parked={"O-1": [ParkedEvent(stored)]}, seen={"p1": Outcome.PARKED})
    result = run([stored, new_order()], view)
    assert [(r.outcome, r.record) for r in result.results] == [(Outcome.DUPLICATE, False), (Outcome.APPLIED, True)]
    assert [(r.event.event_id, r.outcome) for r in result.resolved] == [("p1", Outcome.APPLIED)]


def test_parked_rows_of_an_order_that_exists_are_applied_at_once():
    order = apply(None, new_order(), seller_id=SELLER).order
    stored = status_update(when=at(1), event_id="p1")
    result = run([], InboxView(orders={"O-1": order}, parked={"O-1": [ParkedEvent(stored)]}))
    assert [(r.event.event_id, r.outcome) for r in result.resolved] == [("p1", Outcome.APPLIED)]
    assert result.orders["O-1"].status == "ACCEPTED"


def test_parked_events_stay_parked_until_their_own_order_arrives():
    result = run([status_update("A", when=at(1)), new_order("B")])
    assert outcomes(result) == [Outcome.PARKED, Outcome.APPLIED]
    assert set(result.orders) == {"B"}


def test_a_rejected_new_does_not_unpark():
    result = run([status_update(when=at(1)), new_order(seller="S-9")])
    assert outcomes(result) == [Outcome.PARKED, Outcome.REJECTED]
    assert result.orders == {} and result.created == set()


def test_the_view_is_not_mutated():
    stored = [ParkedEvent(status_update(when=at(1), event_id="p1"))]
    view = InboxView(parked={"O-1": stored}, seen={"p1": Outcome.PARKED})
    run([new_order()], view)
    assert view.parked == {"O-1": stored} and len(stored) == 1 and view.orders == {}
