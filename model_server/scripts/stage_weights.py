"""Download the pinned weights and stage them in S3 as an uncompressed model directory.

On a machine with internet access and AWS credentials (an EC2 instance in the endpoint's region
is fastest: about 16 GB for flux2-klein-4b, 58 GB for qwen-image-edit-2511, go down and up):

    python model_server/scripts/stage_weights.py --pin              # once: resolve and record revisions
    python model_server/scripts/stage_weights.py --bucket B [--family F] [--prefix P] [--without-lora]

``weights.lock.json`` pins each family's Hugging Face repositories to a commit. ``--pin`` resolves
the current commit of each and writes it there (commit the file); staging refuses unpinned
repositories. Each family goes under its own prefix (``tryon-model/<family>/`` unless ``--prefix``):
what SageMaker copies to ``/opt/ml/model``: the pipeline's folders, for Qwen ``lora/<file>`` (the
few-step Lightning LoRA its stack uses by default, ``FewStepLoraPath``; ``--without-lora`` leaves it
out), and ``STAGED_FROM.json`` naming the family and the revisions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

LOCK_PATH = Path(__file__).resolve().parents[1] / "weights.lock.json"
FAMILIES = ("flux2-klein-4b", "qwen-image-edit-2511")
DEFAULT_FAMILY = "flux2-klein-4b"  # the model stack's default ModelFamily


class StageError(RuntimeError):
    pass


def read_lock(path: Path = LOCK_PATH) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def family_lock(lock: dict[str, Any], family: str) -> dict[str, Any]:
    if family not in lock:
        raise StageError(f"{family} has no entry in {LOCK_PATH.name}")
    entry: dict[str, Any] = lock[family]
    return entry


def pin_revisions(lock: dict[str, Any]) -> dict[str, Any]:
    from huggingface_hub import HfApi

    api = HfApi()
    for family in FAMILIES:
        for entry in lock[family].values():
            entry["revision"] = api.model_info(entry["repo_id"]).sha
            print(f"{family}: {entry['repo_id']} pinned at {entry['revision']}")
    return lock


def require_pins(lock: dict[str, Any], with_lora: bool) -> None:
    """``lock``: one family's entry."""
    wanted = ["model", "lora"] if with_lora else ["model"]
    unpinned = [lock[key]["repo_id"] for key in wanted if not lock[key].get("revision")]
    if unpinned:
        raise StageError(
            f"not pinned: {', '.join(unpinned)}. Run with --pin once (it records the current commits in "
            f"{LOCK_PATH.name}), check the model cards' licences at those commits, and commit the file."
        )


def s3_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix.strip('/')}/"


def lora_path(lock: dict[str, Any]) -> str:
    """Where the LoRA lands inside the staged prefix (TRYON_LORA_PATH, the template's FewStepLoraPath)."""
    return f"lora/{lock['lora']['filename']}"


def stage_commands(workdir: Path, bucket: str, prefix: str) -> list[list[str]]:
    return [["aws", "s3", "sync", str(workdir / "model"), s3_uri(bucket, prefix), "--only-show-errors"]]


def download(lock: dict[str, Any], workdir: Path, with_lora: bool, family: str) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    target = workdir / "model"
    model = lock["model"]
    snapshot_download(
        model["repo_id"], revision=model["revision"], local_dir=target, allow_patterns=model["allow_patterns"]
    )
    staged: dict[str, Any] = {"family": family, "model": {"repo_id": model["repo_id"], "revision": model["revision"]}}
    if with_lora:
        lora = lock["lora"]
        hf_hub_download(
            lora["repo_id"],
            lora["filename"],
            revision=lora["revision"],
            local_dir=target / Path(lora_path(lock)).parent,
        )
        staged["lora"] = {key: lora[key] for key in ("repo_id", "revision", "filename")}
    shutil.rmtree(target / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping
    (target / "STAGED_FROM.json").write_text(json.dumps(staged, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", help="S3 bucket in the endpoint's region")
    parser.add_argument("--family", choices=FAMILIES, default=DEFAULT_FAMILY, help=f"default {DEFAULT_FAMILY}")
    parser.add_argument("--prefix", help="S3 prefix (default tryon-model/<family>)")
    parser.add_argument(
        "--without-lora",
        dest="with_lora",
        action="store_false",
        help="Qwen: leave out the few-step Lightning LoRA (then deploy with FewStepLoraPath='' and AsyncS3Uri set)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("test-output/stage"))
    parser.add_argument("--pin", action="store_true", help="resolve current revisions into weights.lock.json")
    parser.add_argument("--lock", type=Path, default=LOCK_PATH, help="the pins file (default weights.lock.json)")
    parser.add_argument("--dry-run", action="store_true", help="check the pins and print the plan only")
    args = parser.parse_args(argv)
    full_lock = read_lock(args.lock)
    prefix = args.prefix or f"tryon-model/{args.family}"
    try:
        if args.pin:
            args.lock.write_text(json.dumps(pin_revisions(full_lock), indent=2) + "\n")
            return 0
        if not args.bucket:
            raise StageError("--bucket is required")
        lock = family_lock(full_lock, args.family)
        args.with_lora = args.with_lora and "lora" in lock  # klein is step-distilled: it has no LoRA
        require_pins(lock, args.with_lora)
        commands = stage_commands(args.workdir, args.bucket, prefix)
        if args.dry_run:
            print(
                f"would download {lock['model']['repo_id']}@{lock['model']['revision']} into {args.workdir / 'model'} "
                f"({args.family})"
            )
            if args.with_lora:
                lora = lock["lora"]
                print(f"would download {lora['repo_id']}@{lora['revision']} {lora['filename']} as {lora_path(lock)}")
            for command in commands:
                print("would run:", " ".join(command))
            return 0
        download(lock, args.workdir, args.with_lora, args.family)
        for command in commands:
            subprocess.run(command, check=True)  # noqa: S603 - the AWS CLI with our own arguments
    except StageError as exc:
        print(f"stage_weights: {exc}", file=sys.stderr)
        return 2
    lora_note = f" FewStepLoraPath={lora_path(lock)}" if args.with_lora else " FewStepLoraPath= (no LoRA)"
    if "lora" not in lock:
        lora_note = ""
    print(f"staged: ModelFamily={args.family} ModelDataS3Uri={s3_uri(args.bucket, prefix)}{lora_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
