"""The family-independent pieces of the capacity plan: request shapes, FLOP counting on PyTorch's
meta device, parameter counts. Each family's adapter counts its own requests with these;
``capacity_plan`` turns the counts into fits, seconds and dollars per instance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

BYTES_PER_PROMPT_TOKEN = 4  # English text in a byte-level BPE: about 4 characters a token


@dataclass(frozen=True)
class RequestShape:
    """One request as the server runs it: steps, guidance, output size, garment photo and its size."""

    name: str
    steps: int
    true_cfg: bool
    output_pixels: int
    garment_image: bool
    garment_pixels: int | None = None  # None: the pipeline's own reference size

    @property
    def transformer_passes(self) -> int:
        return self.steps * (2 if self.true_cfg else 1)


@dataclass(frozen=True)
class TextTokens:
    encoder: int  # what the text encoder reads
    transformer: int  # what reaches the transformer


@dataclass(frozen=True)
class Components:
    transformer: Any
    text_encoder: Any
    vae: Any


@dataclass(frozen=True)
class RequestFlops:
    shape: RequestShape
    transformer: int
    text_encoder: int
    vae: int
    image_tokens: int = 0  # output + references, what one transformer pass attends over (with the text)

    @property
    def total(self) -> int:
        return self.transformer + self.text_encoder + self.vae


def parameter_count(module: Any) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def counted_flops(run: Any) -> int:
    """FLOPs of ``run()`` under torch's counter: on meta tensors nothing is computed."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        run()
    return int(counter.get_total_flops())


def prompt_tokens(text: str) -> int:
    return math.ceil(len(text.encode()) / BYTES_PER_PROMPT_TOKEN)


def square_side(pixels: int, multiple: int) -> int:
    """The side of a square of about ``pixels``, floored to ``multiple``."""
    return max(multiple, int(math.sqrt(pixels)) // multiple * multiple)
