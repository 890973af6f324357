"""docs/understanding.md: its pictures exist and are small, its text outputs are what the
commands print today (make_pictures.py regenerates the pictures)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from PIL import Image

from convforge.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDE = DOCS / "understanding.md"
LIMITS_KB = {".gif": 300, ".png": 200}


def pictures() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", GUIDE.read_text())


def console_examples() -> list[tuple[str, str]]:
    """(command line, output shown) of every `$ convforge ...` in a console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def test_every_understanding_command_has_a_section_and_a_picture_or_output():
    text = GUIDE.read_text()
    for command in ("shape", "explain", "animate", "filter", "summary", "features"):
        assert f"## `convforge {command}`" in text
    assert len(pictures()) >= 5


@pytest.mark.parametrize("picture", pictures())
def test_pictures_exist_and_are_small(picture):
    path = DOCS / picture
    assert path.stat().st_size < LIMITS_KB[path.suffix] * 1024
    with Image.open(path) as image:
        assert image.format == path.suffix[1:].upper()
        assert image.width >= 200 and image.height >= 150


TEXT_COMMANDS = [(c, o) for c, o in console_examples() if c.split()[1] in ("shape", "explain", "summary")]


@pytest.mark.parametrize(("command", "shown"), TEXT_COMMANDS, ids=[c for c, _ in TEXT_COMMANDS])
def test_text_outputs_in_the_guide_are_current(command, shown, capsys):
    code = main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    printed = (out if code == 0 else err).rstrip("\n").splitlines()
    shown_lines = shown.rstrip("\n").splitlines()
    if "..." in shown_lines:  # an excerpt: its head and its tail
        cut = shown_lines.index("...")
        head, tail = shown_lines[:cut], shown_lines[cut + 1 :]
        assert printed[:cut] == head
        assert all(line in printed for line in tail)
    else:
        assert printed == shown_lines
