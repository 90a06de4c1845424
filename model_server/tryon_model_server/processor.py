"""The Qwen2-VL processor without its video half.

``Qwen2VLProcessor`` always wants a video processor, and transformers only builds one when
torchvision is installed. The try-on never sends video, so the server loads the processor as
images + text only: the same image processor, tokenizer and image-token expansion, read from the
model directory's ``processor/`` folder, with or without torchvision (the CPU test environment
has no torchvision build for its CPU-only torch; the GPU container does). One code path in both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import Qwen2VLProcessor


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """``Qwen2VLProcessor`` whose sub-processors are the image processor and the tokenizer."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        # ProcessorMixin pairs positional sub-processors with get_attributes(), which reads this
        # signature: image_processor and tokenizer. The None passed for video_processor is dropped.
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


def load_processor(model_dir: Path) -> ImageOnlyQwen2VLProcessor:
    return ImageOnlyQwen2VLProcessor.from_pretrained(str(model_dir / "processor"))
