"""The ``qianfan-chat`` command line: ``chat``, ``batch``, ``models`` and ``serve``.

Each command lives in its own module and is imported only when the CLI runs, so
``import qianfan_chat`` never loads click or rich.
"""

from __future__ import annotations

import sys
from typing import Any

# `pip install qianfan-chat` installs the `qianfan-chat` command but not click: the command then
# says which extra to install, in one line, instead of dying with a traceback.
NEEDS_CLI = 'qianfan-chat: the command line needs its extra: pip install "qianfan-chat[cli]"'

try:
    import click
except ImportError:  # The core install: httpx only.
    click = None  # type: ignore[assignment]


def _missing(*args: Any, **kwargs: Any) -> None:
    print(NEEDS_CLI, file=sys.stderr)
    raise SystemExit(1)


if click is None:
    main: Any = _missing
else:

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="qianfan-chat")
    def main() -> None:
        """Chat with Qianfan models, or run a local Qianfan server for offline tests."""

    def _register() -> None:
        from .batch import batch
        from .chat import chat
        from .models import models
        from .serve import serve

        main.add_command(chat)
        main.add_command(batch)
        main.add_command(serve)
        main.add_command(models)

    _register()
