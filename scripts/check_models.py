"""Check the model catalog: every entry validates, derived parameter counts agree with the
published ``params_b`` (and ``active_params_b`` for MoE), and no two names collide.

Run from the repository root:  .venv/bin/python scripts/check_models.py [--tol 0.02]
Exit status 1 when an entry deviates by more than the tolerance or two entries share a key.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.estimator.catalog import model_key, models  # noqa: E402
from tools.estimator.params import active_params, total_params  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tol", type=float, default=0.02, help="relative tolerance (default 0.02)")
    args = ap.parse_args()

    catalog = models()
    bad = 0
    print(f"{'id':34} {'published':>10} {'derived':>10} {'diff':>7}   {'act pub':>8} {'act der':>8} {'diff':>7}")
    for m in catalog:
        derived = total_params(m) / 1e9
        rel = (derived - m.params_b) / m.params_b
        flag = "" if abs(rel) <= args.tol else "  <-- off"
        line = f"{m.id:34} {m.params_b:10.3f} {derived:10.3f} {rel:+7.2%}"
        if m.is_moe:
            act = active_params(m) / 1e9
            if m.active_params_b:
                arel = (act - m.active_params_b) / m.active_params_b
                line += f"   {m.active_params_b:8.3f} {act:8.3f} {arel:+7.2%}"
            else:
                line += f"   {'-':>8} {act:8.3f}"
        if flag:
            bad += 1
        print(line + flag)

    # name collisions: every spelling of one model must not normalise to another model's key
    owners: dict[str, set[str]] = defaultdict(set)
    for m in catalog:
        for name in (m.id, m.name, m.hf_id, *m.aliases):
            if name:
                owners[model_key(name)].add(m.id)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    for k, v in sorted(clashes.items()):
        print(f"COLLISION: key {k!r} used by {sorted(v)}")
    ids = [m.id for m in catalog]
    dupes = {i for i in ids if ids.count(i) > 1}
    for i in sorted(dupes):
        print(f"DUPLICATE id: {i}")
    missing_source = [m.id for m in catalog if not m.source]
    for i in missing_source:
        print(f"NO SOURCE: {i}")

    print(f"\n{len(catalog)} models; {bad} outside ±{args.tol:.0%}; "
          f"{len(clashes)} name collisions; {len(dupes)} duplicate ids; {len(missing_source)} without source")
    return 1 if (bad or clashes or dupes or missing_source) else 0


if __name__ == "__main__":
    sys.exit(main())
