"""Print the capacity plan: ``python -m capacity_plan`` from model_server/ (``make model-plan``)."""

from __future__ import annotations

import logging
import warnings

from capacity_plan.plan import plan, render


def main() -> int:
    # diffusers warns about casting on meta; the plan has no weights to keep in float32.
    logging.getLogger("diffusers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print(render(*plan()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
