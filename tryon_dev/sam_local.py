"""`make invoke EVENT=events/<event>.json`: `sam local invoke` that the shell's exports cannot steer.

SAM CLI gives each variable the template declares for the function the shell's value when the
shell has one, above the template's own value (``samcli.local.lambdafn.env_vars``:
``EnvironmentVariables.resolve`` ranks the ``--env-vars`` file, then the shell, then the
template). An exported ``TRYON_BACKEND`` or ``POWERTOOLS_METRICS_NAMESPACE`` (the Makefile exports
Powertools defaults itself) would silently replace what samconfig.toml's parameters give. So sam
runs without those variables: every variable the template declares, and any ``TRYON_*`` or
``POWERTOOLS_*``. Local values go in the env-vars file (samconfig.toml's ``local_invoke``
``env_vars``, events/local-env.json) or in ``--parameter-overrides``, where they are visible.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from tryon_dev.stack_config import ROOT, read_template

SAM = ROOT / ".tools" / "bin" / "sam"
FUNCTION = "TryOnFunction"
APP_PREFIXES = ("TRYON_", "POWERTOOLS_")


def declared_variables(template: dict[str, Any] | None = None, function: str = FUNCTION) -> set[str]:
    """The variables SAM would fill from the shell: the function's and the Globals' declared ones."""
    template = template or read_template()
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return set(own) | set(shared)


def sam_environment(environ: Mapping[str, str], declared: set[str] | None = None) -> dict[str, str]:
    """``environ`` without what would leak into the function."""
    names = declared_variables() if declared is None else declared
    return {k: v for k, v in environ.items() if k not in names and not k.startswith(APP_PREFIXES)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--event", required=True, help="an event file, e.g. events/bad-mode.json")
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment")
    args, rest = parser.parse_known_args(argv)
    command = [str(SAM), "local", "invoke", FUNCTION, "--event", args.event, "--config-env", args.config_env, *rest]
    environment = sam_environment(os.environ)
    removed = sorted(set(os.environ) - set(environment))
    if removed:
        print(f"make invoke: not passing the shell's {', '.join(removed)} to sam", file=sys.stderr, flush=True)
    os.execve(command[0], command, environment)  # noqa: S606 - sam replaces this process, as make would run it


if __name__ == "__main__":
    main()
