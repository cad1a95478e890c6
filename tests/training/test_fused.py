"""Sixteen seeds of every framing, trained as one computation, judged by the same verdict (Keras 3 on JAX or TensorFlow).

The fused path gives the cross-environment rules seeds enough to see a shifted distribution at
the run's false-alarm budget (alphabench.gate), against the baseline's 64 seeds a framing
(variable_length: 16).
"""

import pytest

from alphabench.framings import FRAMINGS
from alphabench.pytest_plugin import framing_params
from alphabench.session import Session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fused(alphabench):
    from alphabench import compat

    if not compat.FUSED:
        pytest.skip(compat.NOT_FUSED)
    if alphabench.overridden:
        pytest.skip("--alphabench-epochs/--alphabench-units override the tutorial's settings")
    return Session(path="fused", baselines=alphabench.baselines)


@pytest.mark.parametrize("name", framing_params(FRAMINGS, "fused"))
def test_fused_seeds_show_what_they_must_and_match_the_baseline(fused, name):
    verdict = fused.verdict(name)
    assert not verdict.fails_run, "\n".join(verdict.lines()) or f"{name}: {verdict.status}: {verdict.expected}"
