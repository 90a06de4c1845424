"""The container image's pins: its base image's torch is the tests' torch, torchao is paired with it."""

from __future__ import annotations

import re
from pathlib import Path

MODEL_SERVER = Path(__file__).resolve().parents[1]


def pins(name: str) -> dict[str, str]:
    lines = (MODEL_SERVER / name).read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line and not line.startswith("#"))


def test_the_base_image_is_a_sagemaker_cuda_pytorch_dlc_with_the_tests_torch() -> None:
    dockerfile = (MODEL_SERVER / "Dockerfile").read_text()
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert base is not None
    repository, tag = base.group(1).rsplit(":", 1)
    assert repository.endswith("deep-learning-containers/pytorch")
    torch_version, cuda, _, flavour = tag.split("-")
    assert cuda.startswith("cu") and flavour == "sagemaker"
    assert torch_version == pins("requirements-test.txt")["torch"]
    assert f"torch.__version__.startswith('{torch_version.rsplit('.', 1)[0]}.')" in dockerfile


def test_torchao_is_pinned_once_for_the_image_and_the_tests() -> None:
    import torch
    import torchao

    assert pins("requirements.txt")["torchao"] == torchao.__version__
    assert torch.__version__.split("+")[0] == pins("requirements-test.txt")["torch"]
    assert "torchao==" not in (MODEL_SERVER / "Dockerfile").read_text()
