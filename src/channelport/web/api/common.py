"""What the API modules share: path and query parameters, and the documented errors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from channelport.web.schemas import ACCOUNT_NAME_PATTERN, MAX_ID, Problem

AccountName = Annotated[str, Path(pattern=ACCOUNT_NAME_PATTERN, description="the account's name")]
AccountFilter = Annotated[str | None, Query(pattern=ACCOUNT_NAME_PATTERN, description="only this account")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("bad input; `detail` says what to change"),
    401: _problem("no valid API token"),
    404: _problem("no such account, order, run or sync"),
    409: _problem("conflicts with the current state (duplicate name, sync refused, ...)"),
    422: _problem("the request does not match the schema; `errors` lists the fields"),
    500: _problem("internal error; no details are given out"),
}
