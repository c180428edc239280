"""The README's promises that code can check."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_qianfan_variable_read_is_in_the_readme_table() -> None:
    read: set[str] = set()
    for path in (ROOT / "src" / "qianfan_chat").rglob("*.py"):
        text = path.read_text("utf-8")
        # environ.get("QIANFAN_X"), env_str("QIANFAN_X", ...), env_float(...), setdefault...
        read |= set(
            re.findall(r"""(?:get|env_str|env_float|getenv)\(\s*["'](QIANFAN_[A-Z_]+)""", text)
        )
    assert read, "the scan must find the variables the client reads"
    table = {
        name
        for line in (ROOT / "README.md").read_text("utf-8").splitlines()
        if line.startswith("| `QIANFAN_")
        for name in re.findall(r"`(QIANFAN_[A-Z_]+)`", line)
    }
    assert read <= table, f"missing from the README's table: {sorted(read - table)}"
