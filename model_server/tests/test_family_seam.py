"""The model seam itself: each family's classes are named in its own adapter module and nowhere else
in the server, the plan or the scripts; a model directory of the wrong family stops ``serve`` at
start-up with a message, never a 500 at the first request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KLEIN, MODEL_SERVER, QWEN, tiny_dir_of
from tryon_model_server.families import ADAPTERS, FAMILY_NAMES

REPOSITORY = MODEL_SERVER.parent
# The server, its plan and its scripts; the tests describe the published repositories and are left out.
SOURCES = sorted(
    [path for path in MODEL_SERVER.rglob("*.py") if "tests" not in path.relative_to(MODEL_SERVER).parts]
    + [REPOSITORY / "scripts" / "benchmark_model_server_gpu.py"]
)


def adapter_path(family: str) -> Path:
    return REPOSITORY / "model_server" / (ADAPTERS[family].replace(".", "/") + ".py")


def family_classes(directory: Path) -> set[str]:
    """The classes a family's model directory names (model_index.json, as diffusers writes it from
    the real classes) and their config classes, as the libraries define them."""
    import diffusers
    import transformers

    index = json.loads((directory / "model_index.json").read_text())
    names = {index["_class_name"]}
    for value in index.values():
        if isinstance(value, list) and len(value) == 2 and value[1]:
            library, name = value
            names.add(name)
            cls = getattr({"diffusers": diffusers, "transformers": transformers}[library], name)
            config_class = getattr(cls, "config_class", None)
            if isinstance(config_class, type):
                names.add(config_class.__name__)
    return names


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    classes = {family: family_classes(tiny_dir_of(family, tmp_path_factory)) for family in FAMILY_NAMES}
    shared = set.intersection(*classes.values())  # the scheduler, the byte-level tokenizer's class
    return {family: names - shared for family, names in classes.items()}


def test_no_file_outside_its_adapter_names_a_familys_classes(owned: dict[str, set[str]]) -> None:
    assert owned[QWEN] >= {"QwenImageEditPlusPipeline", "QwenImageTransformer2DModel", "Qwen2VLProcessor"}
    assert owned[KLEIN] >= {"Flux2KleinPipeline", "Flux2Transformer2DModel", "AutoencoderKLFlux2", "Qwen3ForCausalLM"}
    assert len(SOURCES) > 10 and all(path.is_file() for path in SOURCES)
    found = []
    for path in SOURCES:
        text = path.read_text()
        for family, names in owned.items():
            for name in names:
                if re.search(rf"\b{re.escape(name)}\b", text) and path != adapter_path(family):
                    found.append(f"{path.relative_to(REPOSITORY)} names {name} ({family})")
    assert not found, "\n".join(found)


def test_each_adapter_names_its_own_classes(owned: dict[str, set[str]]) -> None:
    for family, names in owned.items():
        text = adapter_path(family).read_text()
        assert {name for name in names if re.search(rf"\b{re.escape(name)}\b", text)}, family


@pytest.mark.parametrize(("staged", "configured"), [(QWEN, KLEIN), (KLEIN, QWEN)])
def test_serve_refuses_to_start_on_a_directory_of_another_family(
    tmp_path_factory: pytest.TempPathFactory, staged: str, configured: str
) -> None:
    directory = tiny_dir_of(staged, tmp_path_factory)
    result = subprocess.run(
        [sys.executable, str(MODEL_SERVER / "serve"), "serve", "--model-dir", str(directory), "--port", "1"],
        env={**os.environ, "TRYON_MODEL_FAMILY": configured, "TRYON_DEVICE": "cpu"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot start: TRYON_MODEL_FAMILY={configured} but {directory} holds {staged}" in result.stderr
    assert "Traceback" not in result.stderr
