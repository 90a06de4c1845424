"""Print the capacity plan: ``python -m capacity_plan`` from model_server/ (``make model-plan``)."""

from __future__ import annotations

import warnings

from capacity_plan.plan import plan, render


def main() -> int:
    from diffusers.utils import logging as diffusers_logging

    # diffusers warns about casting to bf16; the plan has no weights to keep in float32.
    diffusers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    print(render(*plan()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
