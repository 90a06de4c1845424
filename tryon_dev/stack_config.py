"""The stack's configuration as the repository holds it: template.yaml and samconfig.toml.

``read_template`` reads the template as plain YAML (each short intrinsic tag as its long form);
``deploy_parameters`` gives the parameters ``sam deploy --config-env ENV`` would deploy with:
the template's defaults, then samconfig.toml's ``parameter_overrides`` for that environment.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"


class _TemplateLoader(yaml.SafeLoader):
    """CloudFormation YAML: ``!Ref X`` is read as ``{"Ref": "X"}``, ``!Sub s`` as ``{"Fn::Sub": s}``..."""


def _intrinsic(loader: _TemplateLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def read_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    return loaded


def samconfig_section(config_env: str, command: str, path: Path = SAMCONFIG) -> dict[str, Any]:
    """``[<config_env>.<command>.parameters]`` over ``[<config_env>.global.parameters]``."""
    config = tomllib.loads(path.read_text())
    environment = config.get(config_env)
    if environment is None:
        raise KeyError(f"samconfig.toml has no environment {config_env!r}")
    merged: dict[str, Any] = dict(environment.get("global", {}).get("parameters", {}))
    merged.update(environment.get(command, {}).get("parameters", {}))
    return merged


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``Key=Value Key2="a b"`` as SAM reads it."""
    pairs = (item.partition("=") for item in shlex.split(text or ""))
    return {key: value for key, _, value in pairs if key}


def deploy_parameters(
    config_env: str = "default", overrides: Mapping[str, str] | None = None, template: dict[str, Any] | None = None
) -> dict[str, str]:
    template = template or read_template()
    parameters = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    section = samconfig_section(config_env, "deploy")
    parameters.update(parse_parameter_overrides(str(section.get("parameter_overrides", ""))))
    parameters.update(overrides or {})
    return parameters


def deploy_region(config_env: str = "default", shell_region: str | None = None) -> str | None:
    """The region ``sam deploy --config-env ENV`` deploys to: samconfig.toml's, else the shell's.

    samconfig.toml's values are the defaults of sam's own options, so its ``region`` wins over
    ``AWS_REGION`` / the profile's region, which sam uses only when samconfig.toml names none.
    """
    region = samconfig_section(config_env, "deploy").get("region")
    return str(region) if region else shell_region


def deploy_stack_name(config_env: str = "default") -> str:
    return str(samconfig_section(config_env, "deploy")["stack_name"])


def stack_parameters(cloudformation: Any, stack_name: str) -> dict[str, str] | None:
    """The parameters a deployed stack runs with (DescribeStacks), or None when it does not exist."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            return None
        raise
    if not stacks or stacks[0].get("StackStatus") in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        return None  # nothing runs: a failed first create leaves a stack that must be deleted
    return {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in stacks[0].get("Parameters", [])}
