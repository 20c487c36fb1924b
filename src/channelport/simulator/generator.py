"""Deterministic order data: who bought what, where it goes, how it is paid.

Everything is drawn from one seeded `random.Random` passed in by the caller, so the
same seed gives the same orders. Values are kept as compact tuples of strings (the
simulator holds 100,000 orders at once); payload dictionaries are only built when an
event is delivered. Money is computed in integer minor units and written as decimal
strings, so no float ever reaches a price.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple, TypeVar

from channelport.simulator.catalog import (
    COLOURS,
    COMPANY_FORMS,
    COUNTRIES,
    CURRENCY_FACTOR,
    EMAIL_DOMAINS,
    PAYMENT_METHODS,
    PRODUCTS,
    SIZES,
    TRANSLITERATION,
    Country,
    Product,
)

T = TypeVar("T")

# An address is a 9-tuple in the protocol's field order (wire.ADDRESS_FIELDS); None = absent.
Address = tuple[
    str | None, str | None, str | None, str | None, str | None, str | None, str | None, str | None, str | None
]
Buyer = tuple[str, str | None]  # (email, vatId)


class Line(NamedTuple):
    """One order item as the channel created it (all decimals as protocol strings)."""

    item_id: str
    type: str  # ITEM or SHIPPING
    sku: str | None
    title: str | None
    quantity: str
    gross_price: str
    total: str
    tax_percent: str
    item_status: str
    payment_status: str


class Draft(NamedTuple):
    """A new order's data, before the marketplace gives it an id and an instant."""

    currency: str
    payment_method: str
    buyer: Buyer
    billing: Address
    shipping: Address
    lines: tuple[Line, ...]


_COUNTRY_CUM = tuple(accumulate(c.weight for c in COUNTRIES))
_PAYMENT_CUM = tuple(accumulate(w for _, w in PAYMENT_METHODS))
_LINE_COUNT_CUM = (0.58, 0.83, 0.94, 1.0)
_DE = COUNTRIES[0]


def _weighted(rng: random.Random, cumulative: tuple[float, ...]) -> int:
    return min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


# `Random.choice` and `randint` loop in Python over `getrandbits`; one `random()` call and
# arithmetic is several times faster and just as deterministic. Generation speed matters
# (100,000 orders for the benchmark), so the hot paths use these two.
def pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], both included."""
    return low + int(rng.random() * (high - low + 1))


def _quantity_halves(rng: random.Random, metered: bool) -> int:
    """Quantity in halves (2 = "1"); metered goods come in half metres."""
    if metered:
        return between(rng, 1, 8)
    r = rng.random()
    if r < 0.70:
        return 2
    if r < 0.88:
        return 4
    if r < 0.95:
        return 6
    return 2 * between(rng, 4, 10)


_HALVES_TEXT = tuple(str(h // 2) if h % 2 == 0 else f"{h // 2}.5" for h in range(0, 41))


@lru_cache(maxsize=None)
def money_text(cents: int) -> str:
    """Minor units -> "19.99" (cached: prices repeat, and shared strings save memory)."""
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=None)
def _price(cents_eur: int, currency: str) -> int:
    if currency == "CZK":  # whole crowns
        return round(cents_eur * CURRENCY_FACTOR["CZK"] / 100) * 100
    return round(cents_eur * CURRENCY_FACTOR[currency])


def _variants(product: Product) -> tuple[tuple[str, str], ...]:
    """Every (sku, title) of a product: colours and sizes spelled out once, at import."""
    colours = COLOURS if "{colour}" in product.sku or "{farbe}" in product.title else (("", ""),)
    if product.sku.startswith("SNEAKER"):
        sizes: tuple[str, ...] = tuple(str(n) for n in range(36, 47))
    elif product.sku.startswith("JEANS"):
        sizes = tuple(f"W{w}L{length}" for w in (28, 30, 31, 32, 33, 34, 36) for length in (30, 32, 34))
    elif "{size}" in product.sku:
        sizes = SIZES
    else:
        sizes = ("",)
    return tuple(
        (product.sku.format(colour=code, size=size), product.title.format(farbe=farbe, size=size))
        for code, farbe in colours
        for size in sizes
    )


_VARIANTS: tuple[tuple[tuple[str, str], ...], ...] = tuple(_variants(p) for p in PRODUCTS)
_HOUSE_NUMBERS = tuple(str(n) for n in range(0, 161))


_DE_AREA_CODES = ("151", "152", "160", "170", "176", "30", "40", "89", "221")  # mobiles, Berlin, Hamburg, ...


def _phone(rng: random.Random, country: Country) -> str:
    if country is _DE and rng.random() < 0.5:
        return f"0{pick(rng, _DE_AREA_CODES)} {between(rng, 1000000, 99999999)}"
    return f"{country.phone_prefix} {between(rng, 20, 999)} {between(rng, 100000, 9999999)}"


def _house_number(rng: random.Random) -> str:
    r = rng.random()
    number = between(rng, 1, 160) if r < 0.9 else between(rng, 1, 12)
    if r < 0.06:
        return f"{number}{pick(rng, 'abc')}"
    if r < 0.08:
        return f"{number}-{number + 2}"
    return _HOUSE_NUMBERS[number]


def _person(rng: random.Random, country: Country) -> tuple[str, str]:
    return pick(rng, country.first_names), pick(rng, country.last_names)


def _place_address(
    rng: random.Random, country: Country, first: str | None, last: str, phone: str | None, company: str | None
) -> Address:
    city, postcodes = pick(rng, country.places)
    return (
        first,
        last,
        pick(rng, country.streets),
        _house_number(rng),
        pick(rng, postcodes),
        city,
        country.code,
        phone,
        company,
    )


def new_address(rng: random.Random, country: Country | None = None, *, with_phone: float = 0.6) -> Address:
    """A fresh person at a fresh address (used for changes of address too)."""
    country = country or COUNTRIES[_weighted(rng, _COUNTRY_CUM)]
    first, last = _person(rng, country)
    phone = _phone(rng, country) if rng.random() < with_phone else None
    return _place_address(rng, country, first, last, phone, None)


def email_for(rng: random.Random, first: str | None, last: str | None) -> str:
    local = f"{first or 'kunde'}.{last or 'x'}".lower().translate(TRANSLITERATION)
    if rng.random() < 0.4:
        local += str(between(rng, 1, 99))
    return f"{local}@{pick(rng, EMAIL_DOMAINS)}"


def vat_id(rng: random.Random, country: Country) -> str:
    digits = between(rng, 0, 10**country.vat_digits - 1)
    return f"{country.vat_prefix}{digits:0{country.vat_digits}d}" + ("B01" if country.code == "NL" else "")


def _lines(rng: random.Random, country: Country, currency: str, payment: str) -> tuple[Line, ...]:
    count = _weighted(rng, _LINE_COUNT_CUM) + 1
    chosen: list[int] = []
    while len(chosen) < count:
        index = int(rng.random() * len(PRODUCTS))
        if index not in chosen:
            chosen.append(index)
    payment_status = "PENDING" if payment == "prepayment" else "PAID"
    lines: list[Line] = []
    goods_eur = 0
    for position, index in enumerate(chosen, start=1):
        product = PRODUCTS[index]
        sku, title = pick(rng, _VARIANTS[index])
        halves = _quantity_halves(rng, product.metered)
        gross = _price(product.price_cents, currency)
        goods_eur += product.price_cents * halves // 2
        lines.append(
            Line(
                _HOUSE_NUMBERS[position],
                "ITEM",
                sku,
                title,
                _HALVES_TEXT[halves],
                money_text(gross),
                money_text((gross * halves + 1) // 2),
                country.reduced_vat if product.reduced_vat else country.standard_vat,
                "UNSHIPPED",
                payment_status,
            )
        )
    shipping_eur = 0 if country is _DE and goods_eur >= 5000 else pick(rng, country.shipping_cents)
    shipping = money_text(_price(shipping_eur, currency))
    lines.append(
        Line(
            _HOUSE_NUMBERS[count + 1],
            "SHIPPING",
            None,
            None,
            "1",
            shipping,
            shipping,
            country.standard_vat,
            "UNSHIPPED",
            payment_status,
        )
    )
    return tuple(lines)


def draft_order(rng: random.Random) -> Draft:
    """One realistic new order."""
    country = COUNTRIES[_weighted(rng, _COUNTRY_CUM)]
    currencies = country.currencies
    currency = currencies[0][0] if len(currencies) == 1 or rng.random() < currencies[0][1] else currencies[1][0]
    payment = PAYMENT_METHODS[_weighted(rng, _PAYMENT_CUM)][0]
    first, last = _person(rng, country)
    business = rng.random() < 0.08
    company = None
    vat = None
    if business:
        last2 = pick(rng, country.last_names)
        company = pick(rng, COMPANY_FORMS).format(first=first, last=last, last2=last2)
        if rng.random() < 0.7:
            vat = vat_id(rng, country)
    phone = _phone(rng, country) if rng.random() < 0.6 else None
    billing = _place_address(rng, country, first, last, phone, company)
    r = rng.random()
    if r < 0.70:
        shipping: Address = billing[:7] + (None, company)
    elif r < 0.80 and country is _DE:  # a DHL Packstation
        city, postcodes = pick(rng, country.places)
        shipping = (
            first,
            last,
            "Packstation",
            str(between(rng, 101, 299)),
            pick(rng, postcodes),
            city,
            "DE",
            None,
            None,
        )
    elif r < 0.90:  # a present: someone else in the same country
        shipping = new_address(rng, country, with_phone=0.2)
    else:  # same person, another address (work, holiday flat)
        shipping = _place_address(rng, country, first, last, _phone(rng, country) if rng.random() < 0.3 else None, None)
    buyer = (email_for(rng, first, last), vat)
    return Draft(currency, payment, buyer, billing, shipping, _lines(rng, country, currency, payment))


def country_of(address: Address) -> Country:
    code = address[6]
    for country in COUNTRIES:
        if country.code == code:
            return country
    return _DE


__all__ = [
    "Address",
    "Buyer",
    "Draft",
    "Line",
    "between",
    "country_of",
    "draft_order",
    "email_for",
    "money_text",
    "new_address",
    "pick",
    "vat_id",
]
