"""Finding a secret in text or bytes, also where it was encoded on the way out.

A secret rarely leaks verbatim only: an HTTP Basic header carries it base64-encoded
together with the user name, a URL carries it percent-encoded, a page HTML-escaped.
`needles` turns one secret into every form worth looking for, and `find` looks for all
of them, case-insensitively (a URL encoder may write `%7c` as well as `%7C`).

Base64 of a secret inside a longer blob ("key:secret") depends on where the secret
starts relative to the 3-byte groups, so each of the three alignments is searched, with
the groups that mix in foreign bytes cut off. What remains is long enough (the secrets
used here are 30+ characters) that a match by chance is out of the question.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

MIN_NEEDLE = 16  # shorter base64 cores could match by chance in a large database file


def needles(secret: str) -> dict[str, str]:
    """Every distinct form of `secret` to look for, by a name that says which form it is."""
    candidates = [
        ("plain", secret),
        ("url-encoded", quote(secret, safe="")),
        ("form-encoded", quote_plus(secret)),
        ("html-escaped", html.escape(secret)),
    ]
    raw = secret.encode()
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * shift + raw).decode("ascii")
            core = text[4 if shift else 0 : -4]  # the groups holding only the secret's bytes
            if len(core) >= MIN_NEEDLE:
                candidates.append((f"{name}@{shift}", core))
    forms: dict[str, str] = {}
    for name, needle in candidates:
        if needle not in forms.values():
            forms[name] = needle
    return forms


def find(haystack: str | bytes, secrets: Mapping[str, str]) -> list[str]:
    """`label: form` for every secret form found in `haystack` (base64 without its alignment);
    empty when it is clean."""
    data = haystack.encode("utf-8", errors="surrogateescape") if isinstance(haystack, str) else haystack
    folded = data.lower()
    found: list[str] = []
    for label, secret in secrets.items():
        for form, needle in needles(secret).items():
            entry = f"{label}: {form.partition('@')[0]}"
            if needle.encode().lower() in folded and entry not in found:
                found.append(entry)
    return found
