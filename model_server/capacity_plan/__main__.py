"""Print the capacity plan of every family: ``python -m capacity_plan`` from model_server/ (``make model-plan``).

python -m capacity_plan [--family NAME]
"""

from __future__ import annotations

import argparse
import warnings

from capacity_plan.plan import load_instances, plan, render, render_choice, render_sources
from tryon_model_server.families import FAMILY_NAMES, get_family


def main(argv: list[str] | None = None) -> int:
    from diffusers.utils import logging as diffusers_logging

    parser = argparse.ArgumentParser(prog="capacity_plan", description="The model families' capacity plan")
    parser.add_argument("--family", choices=FAMILY_NAMES, action="append", help="one family (default: all)")
    args = parser.parse_args(argv)
    # diffusers warns about casting to bf16; the plan has no weights to keep in float32.
    diffusers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    for name in args.family or FAMILY_NAMES:
        print(render(get_family(name), *plan(name)), end="\n\n", flush=True)
    print(render_sources())
    print()
    print(render_choice(load_instances()["instances"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
