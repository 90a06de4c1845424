"""What Lambda runs, built the way `sam build` builds it, instead of template and Makefile text.

Each function (``BuildMethod: makefile``) is built as SAM CLI's custom-make workflow does
(aws_lambda_builders/workflows/custom_make): its ``CodeUri`` copied to a scratch folder, then
``make --makefile <ContextPath>/Makefile build-<LogicalId>`` run there with ``ARTIFACTS_DIR``.
The handler the template names must import from that folder alone (the layer's packages come
from this venv, standing in for the arm64 layer). The layer that `make sam-build` left must hold
extension modules for the runtime and architecture the template gives Lambda.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cfn_template import TEMPLATE, load_template
from tests.integration.test_sam_local_invoke import BUILD, _require_build

pytestmark = pytest.mark.integration
ROOT = TEMPLATE.parent
RESOURCES: dict[str, Any] = load_template()["Resources"]
FUNCTIONS = sorted(name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function")


def sam_makefile_build(logical_id: str, workdir: Path) -> Path:
    resource = RESOURCES[logical_id]
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    scratch, artifacts = workdir / "scratch", workdir / "artifacts"
    shutil.copytree(ROOT / resource["Properties"]["CodeUri"], scratch)  # SAM's CopySourceAction
    artifacts.mkdir()
    makefile = ROOT / resource["Metadata"].get("ContextPath", ".") / "Makefile"
    subprocess.run(
        ["make", "--makefile", str(makefile), f"build-{logical_id}"],
        cwd=scratch,
        env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return artifacts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: sam_makefile_build(name, tmp_path_factory.mktemp(name)) for name in FUNCTIONS}


def files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_the_templates_handler_imports_from_the_built_package_alone(built: dict[str, Path], logical_id: str) -> None:
    artifacts = built[logical_id]
    module, attribute = RESOURCES[logical_id]["Properties"]["Handler"].rsplit(".", 1)
    check = (
        "import importlib, importlib.util, sys\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler)\n"
        "assert importlib.util.find_spec('tryon_dev') is None, 'the dev package is importable'\n"
        "assert importlib.util.find_spec('tryon_api.backends.embedded') is None, 'the embedded backend shipped'\n"
        f"print(sys.modules[{module!r}].__file__)\n"
    )
    # Lambda's task root is the package folder: nothing of the checkout is on the path.
    env = {**os.environ, "PYTHONPATH": str(artifacts), "TRYON_BACKEND": "bedrock"}
    run = subprocess.run(
        [sys.executable, "-c", check], cwd=artifacts, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert Path(run.stdout.strip()).resolve().is_relative_to(artifacts.resolve())


def test_the_packages_hold_only_the_runtime_code(built: dict[str, Path]) -> None:
    for logical_id, artifacts in built.items():
        paths = set(files(artifacts))
        assert paths, logical_id
        assert not [p for p in paths if "__pycache__" in p or p.startswith(("tests/", "tryon_dev/"))], logical_id
        assert not [p for p in paths if p.startswith("tryon_api/backends/embedded/")], logical_id
        assert {p.split("/", 1)[0] for p in paths} == {"tryon_api"}, logical_id


def test_every_function_ships_the_same_package(built: dict[str, Path]) -> None:
    """The worker runs the API's pipeline: one package, so a deploy cannot mix two versions."""
    packages = [files(artifacts) for artifacts in built.values()]
    assert len(packages) >= 2 and all(package == packages[0] for package in packages)


def test_the_built_layers_extensions_fit_the_functions_runtime_and_architecture() -> None:
    _require_build()
    function_globals = load_template()["Globals"]["Function"]
    version = re.fullmatch(r"python3\.(\d+)", function_globals["Runtime"])
    assert version, function_globals["Runtime"]
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[function_globals["Architectures"][0]]
    layer = BUILD / "DependenciesLayer" / "python"
    extensions = [p.name for p in layer.rglob("*.so")]
    assert extensions, "the layer holds no compiled module: was it built?"
    fitting = re.compile(rf"\.(cpython-3{version[1]}-{machine}-linux-gnu|abi3)\.so$|^lib.*\.so(\.[\d.]+)?$")
    assert [name for name in extensions if not fitting.search(name)] == []
    # abi3 modules and bundled libraries carry no tag in the name: their wheels' WHEEL files do.
    wheels = [p.read_text().splitlines() for p in layer.glob("*.dist-info/WHEEL")]
    tags = [line for lines in wheels for line in lines if line.startswith("Tag:")]
    assert [tag for tag in tags if "linux" in tag and machine not in tag] == []
