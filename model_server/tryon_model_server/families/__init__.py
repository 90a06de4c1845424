"""The model families the server serves, and which one a model directory holds.

A family is picked from the model directory itself (``model_index.json``'s ``_class_name``) or
from TRYON_MODEL_FAMILY; when both are there they must agree. Adapters are imported on first use.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tryon_model_server.families.interface import ModelFamily

ADAPTERS = {
    "qwen-image-edit-2511": "tryon_model_server.families.qwen_image_edit",
    "flux2-klein-4b": "tryon_model_server.families.flux2_klein",
}
FAMILY_NAMES = tuple(ADAPTERS)
# A directory with no model_index.json (and no TRYON_MODEL_FAMILY) is taken to be this family:
# what the server served before it had families.
DEFAULT_FAMILY = "qwen-image-edit-2511"


class FamilyError(ValueError):
    """The model directory and the configured family do not go together."""


@cache
def get_family(name: str) -> ModelFamily:
    if name not in ADAPTERS:
        raise FamilyError(f"TRYON_MODEL_FAMILY must be one of {', '.join(FAMILY_NAMES)}, got {name!r}")
    family: ModelFamily = importlib.import_module(ADAPTERS[name]).FAMILY
    return family


def family_of_index(index: dict[str, object]) -> str | None:
    """The family whose published pipeline class the directory's model_index.json names."""
    for name in FAMILY_NAMES:
        if get_family(name).pipeline_class == index.get("_class_name"):
            return name
    return None


def resolve_family(configured: str | None, model_dir: Path | None) -> str:
    """The family to serve: the directory's own, checked against TRYON_MODEL_FAMILY when both are set."""
    if configured is not None and configured not in ADAPTERS:
        raise FamilyError(f"TRYON_MODEL_FAMILY must be one of {', '.join(FAMILY_NAMES)}, got {configured!r}")
    index_path = None if model_dir is None else model_dir / "model_index.json"
    if index_path is None or not index_path.is_file():
        return configured or DEFAULT_FAMILY
    try:
        index = json.loads(index_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FamilyError(f"{index_path} is not readable JSON: {exc}") from None
    if not isinstance(index, dict):
        raise FamilyError(f"{index_path} is not a JSON object")
    found = family_of_index(index)
    if found is None:
        known = ", ".join(f"{name} ({get_family(name).pipeline_class})" for name in FAMILY_NAMES)
        raise FamilyError(
            f"{model_dir} holds a {index.get('_class_name')!r} pipeline, which no model family serves; known: {known}"
        )
    if configured is not None and configured != found:
        raise FamilyError(
            f"TRYON_MODEL_FAMILY={configured} but {model_dir} holds {found} ({index.get('_class_name')}): "
            "stage the weights of the family the stack names, or change ModelFamily"
        )
    problem = get_family(found).check_model_index(index)
    if problem is not None:
        raise FamilyError(f"{model_dir}: {problem}")
    return found
