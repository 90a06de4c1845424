"""Download the pinned weights and stage them in S3 as an uncompressed model directory.

On a machine with internet access and AWS credentials (an EC2 instance in the endpoint's region
is fastest: about 58 GB go down and up):

    python model_server/scripts/stage_weights.py --pin              # once: resolve and record revisions
    python model_server/scripts/stage_weights.py --bucket B [--prefix P] [--without-lora]

``weights.lock.json`` pins each Hugging Face repository to a commit. ``--pin`` resolves the
current commit of each and writes it there (commit the file); staging refuses unpinned
repositories. The staged prefix is what SageMaker copies to ``/opt/ml/model``: the pipeline's
folders, ``lora/<file>`` (the few-step Lightning LoRA the model stack uses by default, its
``FewStepLoraPath``; ``--without-lora`` leaves it out), and ``STAGED_FROM.json`` naming the revisions.
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
DEFAULT_PREFIX = "tryon-model/qwen-image-edit-2511"


class StageError(RuntimeError):
    pass


def read_lock(path: Path = LOCK_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def pin_revisions(lock: dict[str, Any]) -> dict[str, Any]:
    from huggingface_hub import HfApi

    api = HfApi()
    for entry in lock.values():
        entry["revision"] = api.model_info(entry["repo_id"]).sha
        print(f"{entry['repo_id']} pinned at {entry['revision']}")
    return lock


def require_pins(lock: dict[str, Any], with_lora: bool) -> None:
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


def download(lock: dict[str, Any], workdir: Path, with_lora: bool) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    target = workdir / "model"
    model = lock["model"]
    snapshot_download(
        model["repo_id"], revision=model["revision"], local_dir=target, allow_patterns=model["allow_patterns"]
    )
    staged = {"model": {"repo_id": model["repo_id"], "revision": model["revision"]}}
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
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument(
        "--without-lora",
        dest="with_lora",
        action="store_false",
        help="leave out the few-step Lightning LoRA (then deploy with FewStepLoraPath='' and AsyncS3Uri set)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("test-output/stage"))
    parser.add_argument("--pin", action="store_true", help="resolve current revisions into weights.lock.json")
    parser.add_argument("--lock", type=Path, default=LOCK_PATH, help="the pins file (default weights.lock.json)")
    parser.add_argument("--dry-run", action="store_true", help="check the pins and print the plan only")
    args = parser.parse_args(argv)
    lock = read_lock(args.lock)
    try:
        if args.pin:
            args.lock.write_text(json.dumps(pin_revisions(lock), indent=2) + "\n")
            return 0
        if not args.bucket:
            raise StageError("--bucket is required")
        require_pins(lock, args.with_lora)
        commands = stage_commands(args.workdir, args.bucket, args.prefix)
        if args.dry_run:
            print(
                f"would download {lock['model']['repo_id']}@{lock['model']['revision']} into {args.workdir / 'model'}"
            )
            if args.with_lora:
                lora = lock["lora"]
                print(f"would download {lora['repo_id']}@{lora['revision']} {lora['filename']} as {lora_path(lock)}")
            for command in commands:
                print("would run:", " ".join(command))
            return 0
        download(lock, args.workdir, args.with_lora)
        for command in commands:
            subprocess.run(command, check=True)  # noqa: S603 - the AWS CLI with our own arguments
    except StageError as exc:
        print(f"stage_weights: {exc}", file=sys.stderr)
        return 2
    lora_note = f" FewStepLoraPath={lora_path(lock)}" if args.with_lora else " FewStepLoraPath= (no LoRA)"
    print(f"staged: ModelDataS3Uri={s3_uri(args.bucket, args.prefix)}{lora_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
