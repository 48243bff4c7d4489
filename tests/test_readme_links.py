"""The READMEs name nothing that is not in the repo: every relative link and every repo path they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READMES = ["README.md", "bench/README.md", "server/graphiql/README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
HEADING = re.compile(r"^#+ +(\S+)$", re.M)
FILE_SUFFIXES = (".py", ".md", ".toml", ".lua", ".sh", ".graphql", ".html", ".json", ".txt", ".yml", ".yaml")
# Folders a working copy has but the repository does not: a path into them names no repo file.
LOCAL_ONLY = {".venv", ".pond", ".git"}


def relative_links(text: str) -> list[str]:
    """Link targets that point into the repository (no scheme, no bare #anchor), without their #anchor."""
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [target.split("#")[0] for target in targets
            if "://" not in target and not target.startswith(("#", "mailto:"))]


def named_paths(text: str, folder: Path) -> list[str]:
    """Words that name a repo file or folder: in backticks (`server/cli.py`, `tests/api/`, `_harness.py`), in code
    blocks (`python bench/checkout.py`) and as headings (`## checkout.py`).

    Routes (`/metrics`), URLs, settings (`POND_DATA_DIR/…`) and words that merely hold a slash
    (`couponCreate/Update/End`) are not paths: a slash counts only when the first part is a folder or file at the
    repo root or beside the README, or is `..` (which must not lead out of the repo: a newcomer has only the repo).
    """
    prose = FENCE.sub("", text)
    words = CODE.findall(prose) + HEADING.findall(prose)
    words += [word for block in FENCE.findall(text) for word in block.split() if word.endswith(FILE_SUFFIXES)]
    paths = []
    for word in words:
        word = re.sub(r":\d+$", "", word)  # file.py:40
        if word.startswith(("/", "~")) or "://" in word or "POND_" in word or "*" in word:
            continue
        first = word.split("/")[0]
        if first in LOCAL_ONLY:
            continue
        if word.endswith(FILE_SUFFIXES) or ("/" in word and (first == ".." or (REPO / first).exists()
                                                             or (folder / first).exists())):
            paths.append(word)
    return paths


def exists(path: str, folder: Path, *, root: bool = True) -> bool:
    """In the repo: beside the README or (a named path, not a link) from the repo root."""
    return any(inside_repo(base / path) and (base / path).exists() for base in ((folder, REPO) if root else (folder,)))


def inside_repo(path: Path) -> bool:
    return path.resolve().is_relative_to(REPO)


@pytest.mark.parametrize("readme", READMES)
def test_every_relative_link_in_the_readme_exists(readme: str) -> None:
    source = REPO / readme
    dead = [target for target in relative_links(source.read_text()) if not exists(target, source.parent, root=False)]
    assert dead == []


@pytest.mark.parametrize("readme", READMES)
def test_every_repo_path_the_readme_names_exists(readme: str) -> None:
    source = REPO / readme
    paths = named_paths(source.read_text(), source.parent)
    assert paths, "the pattern finds the paths the README names"
    assert [path for path in paths if not exists(path, source.parent)] == []


def test_a_dead_link_and_a_missing_path_are_caught() -> None:
    text = ("See [the guide](docs/nowhere.md) and `server/nowhere.py`, but not `/metrics` or `couponCreate/Update/End`."
            " The contract: `../shared/docs/api.md`.\n\n## gone.py\n\n```bash\npython bench/gone.py --fast\n```\n")

    assert relative_links(text) == ["docs/nowhere.md"]
    assert named_paths(text, REPO) == ["server/nowhere.py", "../shared/docs/api.md", "gone.py", "bench/gone.py"]
    assert not exists("server/nowhere.py", REPO)
    assert not exists("../shared/docs/api.md", REPO)  # not in the repo, even where the folder beside it exists
    assert exists("../README.md", REPO / "bench")
