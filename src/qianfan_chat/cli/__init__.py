"""The ``qianfan-chat`` command line: ``chat``, ``batch`` and ``serve``.

Each command lives in its own module and is imported only when the CLI runs, so
``import qianfan_chat`` never loads click or rich.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qianfan-chat")
def main() -> None:
    """Chat with Qianfan models, or run a local Qianfan server for offline tests."""


def _register() -> None:
    from .batch import batch
    from .chat import chat
    from .serve import serve

    main.add_command(chat)
    main.add_command(batch)
    main.add_command(serve)


_register()
