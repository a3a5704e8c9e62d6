"""Translate SAM templates to plain CloudFormation JSON, offline (a thin CLI over ``localcloud.translate``).

    python -m tools.sam_translate --out build/translated template.yaml templates/broker.yaml

checkov reads the translation to see what SAM generates (roles, event source mappings, rules); the
local cloud deploys the same translation. See ``localcloud/translate.py`` for what is replaced.
The output is for analysis and the local cloud, never for deployment (``sam deploy`` packages for real).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from localcloud.translate import TranslationError, parameter_values, placeholder, translate

__all__ = ["TranslationError", "main", "parameter_values", "placeholder", "translate"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, required=True, help="directory of <template-stem>.json (stale .json files go)"
    )
    parser.add_argument("templates", type=Path, nargs="+")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    stems = [path.stem for path in args.templates]
    if len(set(stems)) != len(stems):
        print(f"sam_translate: template names must be unique: {stems}", file=sys.stderr)
        return 2
    for stale in sorted(set(out.glob("*.json")) - {out / f"{stem}.json" for stem in stems}):
        stale.unlink()  # a removed template must not linger for checkov -d
    failed = 0
    for path in args.templates:
        target = out / f"{path.stem}.json"
        try:
            translated = translate(path)
        except TranslationError as exc:
            print(f"sam_translate: {exc}", file=sys.stderr)
            target.unlink(missing_ok=True)  # no stale translation of a template that no longer translates
            failed += 1
            continue
        target.write_text(json.dumps(translated, indent=2, sort_keys=False) + "\n")
        print(f"sam_translate: {path} -> {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
