"""Hypothesis strategies for arbitrary (not necessarily consistent) domain values."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

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
    OrderLine,
    OrderSnapshot,
    StatusUpdate,
)
from channelport.domain.order import CancellationState, LineState, OrderState

texts = st.text(min_size=1, max_size=12)
maybe_texts = st.none() | texts
offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
# fold is meaningless with a fixed offset (and never set by parse_instant), but repr shows it.
instants = st.datetimes(timezones=offsets).map(lambda value: value.replace(fold=0))
decimals = st.decimals(allow_nan=False, allow_infinity=False)

addresses = st.builds(
    Address,
    first_name=maybe_texts,
    last_name=maybe_texts,
    street=maybe_texts,
    house_number=maybe_texts,
    postcode=maybe_texts,
    city=maybe_texts,
    country=maybe_texts,
    phone=maybe_texts,
    company_name=maybe_texts,
)
buyers = st.builds(Buyer, email=maybe_texts, vat_id=maybe_texts)
order_lines = st.builds(
    OrderLine,
    order_item_id=texts,
    type=st.sampled_from(["ITEM", "SHIPPING"]),
    quantity=decimals,
    gross_price=decimals,
    total=decimals,
    tax_percent=decimals,
    item_status=texts,
    item_payment_status=texts,
    sku=maybe_texts,
    title=maybe_texts,
)
snapshots = st.builds(
    OrderSnapshot,
    seller_id=texts,
    order_id=texts,
    order_status=texts,
    purchased_at=instants,
    last_changed_at=instants,
    currency=texts,
    lines=st.tuples(order_lines) | st.lists(order_lines, max_size=3).map(tuple),
    payment_method=maybe_texts,
    buyer=st.none() | buyers,
    billing_address=st.none() | addresses,
    shipping_address=st.none() | addresses,
)
_common = {"event_id": texts, "created_at": instants, "seller_id": texts, "order_id": texts}

events = st.one_of(
    st.builds(NewOrder, order=snapshots, **_common),
    st.builds(
        StatusUpdate,
        order_status=texts,
        items=st.lists(
            st.builds(ItemStatusChange, order_item_id=texts, item_status=maybe_texts, payment_status=maybe_texts),
            max_size=3,
        ).map(tuple),
        **_common,
    ),
    st.builds(
        AddressUpdate,
        billing_address=st.none() | addresses,
        shipping_address=st.none() | addresses,
        buyer=st.none() | buyers,
        **_common,
    ),
    st.builds(
        CancellationAccepted,
        request_id=texts,
        cancel_reason=texts,
        lines=st.none()
        | st.lists(st.builds(CancelledLine, order_item_id=texts, quantity=decimals), max_size=3).map(tuple),
        **_common,
    ),
    st.builds(CancellationDenied, request_id=texts, reason=maybe_texts, **_common),
)

order_states = st.builds(
    OrderState,
    order_id=texts,
    seller_id=texts,
    status=texts,
    purchased_at=instants,
    last_changed_at=instants,
    currency=texts,
    lines=st.lists(
        st.builds(
            LineState,
            line=order_lines,
            item_status=texts,
            payment_status=texts,
            cancelled_quantity=decimals,
            status_at=st.none() | instants,
            payment_at=st.none() | instants,
        ),
        max_size=3,
    ).map(tuple),
    status_at=instants,
    billing_at=instants,
    shipping_at=instants,
    buyer_at=instants,
    payment_method=maybe_texts,
    buyer=st.none() | buyers,
    billing_address=st.none() | addresses,
    shipping_address=st.none() | addresses,
    cancellations=st.lists(
        st.builds(
            CancellationState,
            request_id=texts,
            state=st.sampled_from(["ACCEPTED", "DENIED"]),
            created_at=instants,
            cancel_reason=maybe_texts,
            reason=maybe_texts,
        ),
        max_size=3,
    ).map(tuple),
)
