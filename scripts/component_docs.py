"""Write docs/components.md, the component reference, from the registry (`--check`: compare)."""

from __future__ import annotations

import sys
from pathlib import Path

from chaihuo.components._reference import render_markdown
from chaihuo.components.builtin import default_registry

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "components.md"


def main(argv: list[str]) -> int:
    text = render_markdown(default_registry())
    if "--check" in argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run `python scripts/component_docs.py`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
