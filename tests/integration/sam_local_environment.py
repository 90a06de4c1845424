"""The environment `sam local invoke` gives a function, computed by SAM CLI's own code.

Run with the SAM CLI's interpreter (``.tools/bin/python``, which has ``samcli``), from the
repository root: ``python tests/integration/sam_local_environment.py TEMPLATE FUNCTION``.
It reads samconfig.toml's ``local_invoke`` parameters (``env_vars``, ``parameter_overrides``) with
SAM's config reader, the env-vars file with SAM's reader, builds the stacks and the function as
``sam local invoke`` does (``InvokeContext``'s steps), and prints as JSON the function's
resolved environment (``EnvironmentVariables.resolve``: what goes into the container), its
handler and its code directory. Everything after this (Docker) is left out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from samcli.cli.types import CfnParameterOverridesType
from samcli.commands.local.cli_common.invoke_context import InvokeContext
from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.config.samconfig import SamConfig
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

REGION = "us-east-1"


def main(template: str, function_id: str) -> None:
    root = Path.cwd()
    config = SamConfig(str(root)).get_all(["local", "invoke"], "parameters", env="default")
    overrides = CfnParameterOverridesType().convert(config.get("parameter_overrides", ""), None, None)
    env_vars_values = InvokeContext._get_env_vars_value(str(root / config["env_vars"]))
    stacks, _ = SamLocalStackProvider.get_stacks(
        template, parameter_overrides=overrides, global_parameter_overrides={"AWS::Region": REGION}
    )
    runner = LocalLambdaRunner(
        local_runtime=None,  # type: ignore[arg-type] - the container runtime is not used here
        function_provider=SamFunctionProvider(stacks),
        cwd=str(root),
        real_path=str(root),
        aws_region=REGION,
        env_vars_values=env_vars_values,
    )
    function = runner.get_function(function_id)
    invoke = runner.get_invoke_config(function)
    print(
        json.dumps(
            {
                "env_vars_file": config["env_vars"],
                "parameter_overrides": overrides,
                "declared": sorted((function.environment or {}).get("Variables", {})),
                "environment": invoke.env_vars.resolve(),
                "handler": invoke.handler,
                "code": invoke.code_abs_path,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
