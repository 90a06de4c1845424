"""Write a tiny random-weight model directory of either family, offline.

The directory has the layout and classes of the family's published repository
(``model_index.json``, ``transformer/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ...), so the
server loads it through the same production loading path as the real weights. Every size is small
(a few MB at most) and every weight is random: the images it makes are noise, but every code path
(prompt template, VAE, transformer, scheduler, text encoder) runs for real. Nothing is downloaded:
the tokenizers are byte-level ones built in code.

    python -m tryon_model_server.tiny_model DIR [--family qwen-image-edit-2511|flux2-klein-4b]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tryon_model_server.families import DEFAULT_FAMILY, FAMILY_NAMES, get_family


def write_tiny_model(directory: Path, seed: int = 0, family: str = DEFAULT_FAMILY) -> Path:
    adapter = get_family(family)
    note = {"what": "random weights for tests; its images are noise", "family": family, "seed": seed}
    return adapter.save_model_directory(adapter.build_tiny_pipeline(seed), directory, note)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--family", choices=FAMILY_NAMES, default=DEFAULT_FAMILY)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_tiny_model(args.directory, args.seed, args.family)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"tiny {args.family} model written to {path} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
