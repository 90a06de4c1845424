"""The README and the guides in docs/ stay true to the repository: every relative link and anchor
resolves, every `make` target, `TRYON_*` setting and linked document they name exists (read from
the Makefiles, the settings models and the templates, not from a list), and the settings table is
what the settings model generates."""

from __future__ import annotations

import ast
import fnmatch
import re
import textwrap
import unicodedata
from pathlib import Path
from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from tryon_api.settings import Settings
from tryon_dev import settings_doc

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); a target may be wrapped in <> and followed by a "title".
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# An inline code span may wrap onto the next line of its paragraph, never past a blank line.
INLINE_CODE = re.compile(r"(`+)((?:(?!\n\s*\n).)+?)\1", re.S)
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")


def split_code(text: str) -> tuple[list[str], list[str]]:
    """The lines outside fenced code blocks, and the lines inside them."""
    prose: list[str] = []
    code: list[str] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        (code if fenced else prose).append(line)
    return prose, code


def heading_text(markdown: str) -> str:
    """A heading as GitHub renders it to text: links become their text, emphasis and code marks go."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return text.replace("`", "").replace("*", "")


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case; everything but letters, digits, marks, `_`, `-`
    and spaces removed; spaces become `-`."""
    kept = []
    for char in heading_text(heading).strip().lower():
        category = unicodedata.category(char)
        if char in "-_ " or category[0] in "LMN":
            kept.append("-" if char == " " else char)
    return "".join(kept)


def anchors(text: str) -> set[str]:
    """Every heading's anchor in a Markdown file, duplicates numbered -1, -2... as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    prose, _ = split_code(text)
    for line in prose:
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(text: str) -> list[str]:
    """The link targets written outside code (fenced blocks and inline code spans)."""
    prose, _ = split_code(text)
    return LINK.findall(INLINE_CODE.sub("", "\n".join(prose)))


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of the document whose file, anchor or line range does not exist."""
    problems = []
    for target in links(document.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if root.resolve() not in (resolved, *resolved.parents):
            problems.append(f"{target}: outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: no such file")
            continue
        if not anchor:
            continue
        if resolved.suffix == ".md":
            if anchor not in anchors(resolved.read_text()):
                problems.append(f"{target}: no heading with this anchor")
        elif line := LINE_ANCHOR.match(anchor):
            last = int(line.group(2) or line.group(1))
            if resolved.is_dir() or last > len(resolved.read_text(errors="replace").splitlines()):
                problems.append(f"{target}: past the end of the file")
        else:
            problems.append(f"{target}: an anchor into a file that has none")
    return problems


def code_spans(text: str) -> list[str]:
    """Everything written as code: fenced blocks' lines and inline code spans."""
    prose, code = split_code(text)
    return [*code, *(match.group(2) for match in INLINE_CODE.finditer("\n".join(prose)))]


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for makefile in (ROOT / "Makefile", ROOT / "model_server" / "model.mk"):
        for line in makefile.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
            if match:
                targets.update(match.group(1).split())
    return targets


def settings_names() -> set[str]:
    """Every TRYON_* variable the code reads or the templates set."""
    names = {field.encode_name for field in msgspec.structs.fields(Settings)}
    for template in (ROOT / "template.yaml", ROOT / "model_server" / "template.yaml"):
        names.update(re.findall(r"\bTRYON_[A-Z0-9_]*[A-Z0-9]", template.read_text()))
    model_settings = ROOT / "model_server" / "tryon_model_server" / "settings.py"
    for node in ast.walk(ast.parse(model_settings.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(re.findall(r"\bTRYON_[A-Z0-9_]*[A-Z0-9]", node.value))
    return names


@pytest.mark.parametrize("document", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_link_check_finds_what_is_broken(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("# A guide\n\n## Size, cost and latency\n\n## Notes\n\n## Notes\n")
    (tmp_path / "code.py").write_text("one\ntwo\n")
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent("""\
        [ok](guide.md#size-cost-and-latency) [ok](guide.md#notes-1) [ok](code.py#L2) [ok](#here) [a link
        over two lines](guide.md#size-cost) `code over
        two lines [not a link](nowhere.md)`
        ## Here
        [gone](missing.md) [no anchor](guide.md#size-cost-latency) [third](guide.md#notes-2)
        [past the end](code.py#L3) `[in code](nowhere.md)` [web](https://example.com/x)
        ```
        [in a block](nowhere.md)
        ```
        """)
    )
    assert broken_links(page, root=tmp_path) == [
        "guide.md#size-cost: no heading with this anchor",
        "missing.md: no such file",
        "guide.md#size-cost-latency: no heading with this anchor",
        "guide.md#notes-2: no heading with this anchor",
        "code.py#L3: past the end of the file",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Running locally without `make`", "running-locally-without-make"),
        ("Reading the dashboard (`tryon-<env>` in CloudWatch)", "reading-the-dashboard-tryon-env-in-cloudwatch"),
        ("Success: `200`", "success-200"),
        ("Decoding budget (`make benchmark-decoding`)", "decoding-budget-make-benchmark-decoding"),
        ("snake_case and [a link](x.md)", "snake_case-and-a-link"),
    ],
)
def test_anchors_follow_githubs_slugs(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_every_make_target_written_in_the_docs_exists() -> None:
    targets = makefile_targets()
    assert {"run", "test", "doctor", "smoke", "docs", "model-test"} <= targets
    missing = set()
    for document in DOCS:
        for span in code_spans(document.read_text()):
            for match in re.finditer(r"(?:^|[\s;&|(])make\s+([A-Za-z0-9_.-]+)", span):
                name = match.group(1)
                if "=" not in name and name not in targets:
                    missing.add(f"{document.relative_to(ROOT)}: make {name}")
    assert missing == set()


def test_every_tryon_variable_written_in_the_docs_exists() -> None:
    known = settings_names()
    assert {"TRYON_BACKEND", "TRYON_API_KEYS", "TRYON_MODEL_DIR", "TRYON_QUANTIZATION"} <= known
    unknown = set()
    for document in DOCS:
        for written in re.findall(r"\bTRYON_[A-Z0-9_*]*[A-Z0-9*]", document.read_text()):
            if not fnmatch.filter(known, written):
                unknown.add(f"{document.relative_to(ROOT)}: {written}")
    assert unknown == set()


def test_the_readme_is_a_front_door_that_maps_every_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert len(lines) <= 200
    first_screen = "\n".join(lines[:50])
    for step in ("make run", "make test", "make doctor", "sam deploy", "make smoke"):
        assert step in first_screen, step
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(readme) if not target.startswith("http")}
    guides = set((ROOT / "docs").glob("*.md"))
    assert {guide.resolve() for guide in guides} <= linked
    assert all(path.exists() for path in linked)


def test_the_settings_table_is_what_the_settings_model_generates() -> None:
    document = (ROOT / "docs" / "configuration.md").read_text()
    assert settings_doc.render(document, settings_doc.settings_table()) == document, "run `make docs`"
    for field in msgspec.structs.fields(Settings):
        assert f"| `{field.encode_name}` |" in document


SAMPLE_SOURCE = """
class Sample(msgspec.Struct):
    # How many, within bounds.
    count: Annotated[int, Meta(ge=1, le=3600)] = 60
    # A field with its own variable name,
    # written over two lines.
    keys: tuple[str, ...] = msgspec.field(default=(), name="OTHER_KEYS")
    undocumented: str = ""
"""


def test_the_generator_reads_names_bounds_defaults_and_comments() -> None:
    class Sample(msgspec.Struct, rename=lambda name: "TRYON_" + name.upper()):
        count: Annotated[int, Meta(ge=1, le=3600)] = 60
        keys: tuple[str, ...] = msgspec.field(default=(), name="OTHER_KEYS")

    table = settings_doc.settings_table(Sample, SAMPLE_SOURCE)
    assert "| `TRYON_COUNT` | integer 1 to 3 600 | `60` | How many, within bounds. |" in table
    assert "| `OTHER_KEYS` | comma-separated list of text | empty | A field with its own variable name," in table


def test_the_generator_refuses_a_setting_without_a_comment() -> None:
    class Sample(msgspec.Struct):
        count: Annotated[int, Meta(ge=1, le=3600)] = 60
        undocumented: str = ""

    with pytest.raises(settings_doc.UndocumentedSetting, match="undocumented"):
        settings_doc.settings_table(Sample, SAMPLE_SOURCE)
