"""Hypothesis strategies for hostile REST input: JSON bodies and query strings of shapes a
client should never send, and a serializer that can send what `json.dumps` refuses to.

Hostile here means: wrong types, missing and unknown fields, huge strings, odd Unicode
(NUL, lone surrogates, right-to-left marks, emoji, case-folding surprises), absurd
numbers (beyond 64 bits, beyond Python's 4300-digit limit, NaN, infinities), timestamps
far in the past or future or not existing at all, deep nesting, bytes that are not UTF-8.
Most examples are a valid request with one part replaced, so they get past the first
check and reach the deeper ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st


@dataclass(frozen=True)
class Raw:
    """A JSON fragment sent verbatim (what `json.dumps` would not write)."""

    text: str


RAW_TOKENS = (
    "1" + "0" * 5000,  # beyond Python's int-from-text limit
    "123456789012345678901234567890",
    "1e999", "-1e999", "NaN", "Infinity", "-0", "1.0e-400",
    '"\\ud800"', '"a\\udfffb"', '"\\u0000"',  # lone surrogates and NUL, escaped
    "[" * 3000 + "]" * 3000, '{"a":' * 3000 + "1" + "}" * 3000,  # deep nesting
)
ODD_TEXT = (
    "", " ", "\x00", "a\x00b", "\ud800", "\u202eevil", "\ufeff", "😀" * 3, "İstanbul", "ß", "ＳＨＯＰ", "\r\n",
    "../../etc/passwd", "<script>alert(1)</script>", "' OR '1'='1", "%00", "${jndi:x}", "null", "true", "0",
    "shop", "S-1001",
)
FAR_INSTANTS = (
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "10000-01-01T00:00:00Z",
    "-000001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-02-30T00:00:00Z",
    "2026-11-20T24:00:00Z", "2026-03-29T02:30:00", "2026-11-20", "2026-11-20T00:00:00+25:00",
    "2262-04-11T23:47:16.854775808Z", "2038-01-19T03:14:08Z", "2100-01-01T00:00:00Z", "now", "1e10",
)
ABSURD_NUMBERS = (0, -1, 2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308)

odd_text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=30))
huge_text = st.builds(lambda char, n: char * n, st.sampled_from(["A", "ß", "😀", "\u202e", "\x00"]),
                      st.sampled_from([101, 501, 4001, 70_000]))
numbers = st.one_of(st.integers(), st.sampled_from(ABSURD_NUMBERS), st.floats())  # floats: NaN and inf too
leaf = st.one_of(
    st.none(), st.booleans(), numbers, odd_text, huge_text, st.sampled_from(FAR_INSTANTS),
    st.builds(Raw, st.sampled_from(RAW_TOKENS)),
)
hostile = st.recursive(
    leaf, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)),
    max_leaves=8,
)


def dump(value: Any) -> str:
    """JSON text; `Raw` fragments go in as they are, NaN and infinities as Python writes them."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def mutations(valid: Any) -> st.SearchStrategy[Any]:
    """`valid` with one field replaced, removed or added, one level down too; or anything at all."""
    options: list[st.SearchStrategy[Any]] = [hostile]
    if isinstance(valid, dict) and valid:
        keys = [*valid, "unknownField"]
        options += [
            st.builds(lambda k, v: {**valid, k: v}, st.sampled_from(keys), hostile),
            st.builds(lambda k: {x: y for x, y in valid.items() if x != k}, st.sampled_from(list(valid))),
        ]
        nested = [k for k, v in valid.items() if isinstance(v, dict | list) and v]
        if nested:
            options.append(st.sampled_from(nested).flatmap(
                lambda k: mutations(valid[k]).map(lambda inner: {**valid, k: inner})))
    if isinstance(valid, list) and valid:
        options += [
            st.builds(lambda i, v: [*valid[:i], v, *valid[i + 1:]], st.integers(0, len(valid) - 1),
                      st.integers(0, len(valid) - 1).flatmap(lambda i: mutations(valid[i]))),
            st.builds(lambda n: valid[:n], st.integers(0, len(valid) - 1)),
            st.builds(lambda extra: [*valid, extra], st.sampled_from(valid)),
        ]
    return st.one_of(*options)


def encoded_body(valid: Any) -> st.SearchStrategy[tuple[bytes, str | None]]:
    """(body bytes, content type): mostly JSON of a mutated body, sometimes not JSON at all."""
    as_json = mutations(valid).map(lambda v: (dump(v).encode("utf-8", errors="surrogatepass"), "application/json"))
    broken = st.sampled_from([
        (b"", "application/json"), (b"{", "application/json"), (b'{"name": "\xff\xfe"}', "application/json"),
        (b"\xef\xbb\xbf{}", "application/json"), (dump(valid).encode(), "text/plain"), (dump(valid).encode(), None),
        (b"name=shop&token=x", "application/x-www-form-urlencoded"), (b"[]" * 10, "application/json"),
    ])
    return st.one_of(as_json, as_json, as_json, broken)


def path_segment() -> st.SearchStrategy[str]:
    """A path parameter as it goes on the wire: percent-encoded, invalid UTF-8 included (at most
    1,000 characters: the client refuses URLs past 64 KiB, and the point is the server)."""
    text = st.one_of(odd_text, huge_text.map(lambda t: t[:1000]), st.sampled_from(FAR_INSTANTS))
    return st.one_of(text.map(_encode), st.sampled_from(["%FF%FE", "%ED%A0%80", "%00", "..", "%2e%2e", "shop%2Fx"]))


def query_value() -> st.SearchStrategy[str]:
    text = st.one_of(odd_text, huge_text.map(lambda t: t[:1000]), st.sampled_from(FAR_INSTANTS),
                     numbers.map(str), st.sampled_from([r.text[:200] for r in map(Raw, RAW_TOKENS)]))
    return st.one_of(text.map(_encode), st.sampled_from(["%FF", "%ED%A0%80", "%00", "%", "%zz"]))


def _encode(text: str) -> str:
    return quote(text.encode("utf-8", errors="surrogatepass"), safe="")
