"""The README and the docs pages: links that resolve, and a README that stays short.

Plain file checks: no database. A relative link must name a file of the repository,
and a `#fragment` a heading of that file (GitHub's anchor rules), so moving a
section or a page cannot leave a dead link behind.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]
    + list((ROOT / "docs").glob("*.md"))
)
README_LIMIT_BYTES = 12 * 1024

_FENCE_RE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE_RE = re.compile(r"`[^`\n]*`")
_LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING_RE = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text):
    """The text without code blocks and inline code, where brackets are not links."""
    return _INLINE_CODE_RE.sub("", _FENCE_RE.sub("", text))


def relative_links(text):
    targets = _LINK_RE.findall(_prose(text))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def anchors(text):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    seen = {}
    result = set()
    for heading in _HEADING_RE.findall(_FENCE_RE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def broken_links(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in relative_links(text):
        path_part, _, fragment = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif (
            fragment
            and linked.suffix == ".md"
            and fragment not in anchors(linked.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target} (no heading #{fragment} in {linked.name})")
    return broken


def test_it_finds_links_and_anchors_the_way_github_does():
    text = "# The warehouse: `playlist_tracks`\n## Runs\n## Runs\n```\n# not a heading\n```\n"
    assert anchors(text) == {"the-warehouse-playlist_tracks", "runs", "runs-1"}
    links = relative_links("[a](docs/a.md#x) [b](https://x.org) `[c](d.md)`\n```\n[e](f.md)\n```")
    assert links == ["docs/a.md#x"]


def test_it_reports_a_dead_link_and_a_dead_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n## A section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-section) [gone](missing.md) [moved](other.md#old-section) [self](#top)",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md (no such file)",
        "other.md#old-section (no heading #old-section in other.md)",
        "#top (no heading #top in page.md)",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert page.exists(), f"{page.relative_to(ROOT)} is missing"
    assert broken_links(page) == []


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.parent.name == "docs"], ids=lambda page: page.name
)
def test_every_docs_page_has_a_title(page):
    assert page.read_text(encoding="utf-8").startswith("# ")


def test_the_readme_reads_in_five_minutes():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT_BYTES, (
        f"README.md is {size} bytes (limit {README_LIMIT_BYTES}): move reference material to docs/"
    )
