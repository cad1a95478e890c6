"""docs/framings.md, which README points to, is the rendering of the frozen framing definitions."""

from pathlib import Path

from alphabench.framing_docs import markdown
from alphabench.framings import FRAMINGS

REPOSITORY = Path(__file__).parents[2]


def test_docs_framings_md_is_up_to_date():
    assert (REPOSITORY / "docs" / "framings.md").read_text() == markdown(), (
        "docs/framings.md is stale: alphabench list --markdown > docs/framings.md")


def test_every_framing_is_described():
    rendered = markdown()
    for framing in FRAMINGS.values():
        assert f"| {framing.name} |" in rendered and f"**{framing.name}**: {framing.summary}" in rendered


def test_the_readme_links_nothing_outside_the_repository():
    readme = (REPOSITORY / "README.md").read_text()
    assert "../" not in readme
    assert "(docs/framings.md)" in readme
