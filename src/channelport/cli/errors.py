"""One root group that turns every error into one line on stderr and the right exit code.

Exit codes (DESIGN.md): 0 success; 1 the work ran and failed; 2 bad usage or input.
"""

from __future__ import annotations

import sys
from typing import Any

from typer import Abort, echo
from typer._click import exceptions as click_errors  # Typer vendors Click; its exceptions live here
from typer.core import TyperGroup

from channelport.errors import ChannelportError, UsageError


def fail(message: str, *, code: int = 2) -> None:
    echo(f"Error: {message}", err=True)
    sys.exit(code)


class CliGroup(TyperGroup):
    def main(self, args: Any = None, prog_name: str | None = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # noqa: ARG002
        try:
            result = super().main(args=args, prog_name=prog_name or "channelport", standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            echo(exc.format_message(), err=True)
            sys.exit(2)
        except click_errors.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "channelport"
            fail(f"{exc.format_message()} (see `{where} --help`)")
        except click_errors.ClickException as exc:
            fail(exc.format_message(), code=exc.exit_code)
        except Abort:
            fail("aborted", code=130)
        except UsageError as exc:
            fail(str(exc))
        except ChannelportError as exc:
            fail(str(exc), code=1)
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        sys.exit(result if isinstance(result, int) else 0)
