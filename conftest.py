# The suite's pytest plugin lives in the package (alphabench/pytest_plugin.py); this file only loads it.
pytest_plugins = ("alphabench.pytest_plugin",)
