# The suite's pytest plugin (alphabench/pytest_plugin.py) loads through its pytest11 entry point once
# alphabench is installed (pip install -e .). From a source tree on PYTHONPATH alone, this loads it.
# Only then: pytest refuses pytest_plugins in a conftest that is not its rootdir's, as this one is when
# an editable install's `pytest --alphabench` collects tests/ from another project.
from importlib.metadata import entry_points

if "alphabench.pytest_plugin" not in entry_points(group="pytest11").names:
    pytest_plugins = ("alphabench.pytest_plugin",)
