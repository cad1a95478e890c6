"""alphabench's suite: ships in the package as alphabench.suite (pyproject.toml), collected by `pytest --alphabench`."""
