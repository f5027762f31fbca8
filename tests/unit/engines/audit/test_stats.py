import math
import random

import pytest

from modelcustoms.engines.audit.measures import Paired, StatOptions, paired_rate
from modelcustoms.engines.audit.stats import (
    REFERENCE,
    SUBJECT,
    Obs,
    _z,
    bootstrap,
    contrast,
    holm,
    mcnemar_exact,
    minimum_detectable_effect,
)


def test_mcnemar_exact_matches_the_binomial():
    # 0 vs 6 discordant pairs: 2 * 0.5**6
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    # 1 vs 9: 2 * (1 + 10) / 1024
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)


def test_holm_is_step_down_and_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.2, 0.9, 0.9, 0.9]) == pytest.approx([0.8, 1.0, 1.0, 1.0])
    assert holm([0.01, 0.02, 0.2]) == pytest.approx([0.03, 0.04, 0.2])


def test_normal_quantiles():
    assert _z(0.975) == pytest.approx(1.959964, abs=1e-5)
    assert _z(0.8) == pytest.approx(0.841621, abs=1e-5)
    assert _z(0.001) == pytest.approx(-3.090232, abs=1e-5)
    assert minimum_detectable_effect(0.1) == pytest.approx(0.2802, abs=1e-3)
    assert math.isnan(minimum_detectable_effect(math.nan))


def _did_obs(s_sens, s_gov, r_sens, r_gov, clusters=10):
    obs = []
    for c in range(clusters):
        for model, arm, p in (
            (SUBJECT, "sens", s_sens),
            (SUBJECT, "gov", s_gov),
            (REFERENCE, "sens", r_sens),
            (REFERENCE, "gov", r_gov),
        ):
            obs.append(Obs(f"t{c}", model, arm, p))
    return obs


TERMS = (
    (SUBJECT, "sens", 1.0),
    (SUBJECT, "gov", -1.0),
    (REFERENCE, "sens", -1.0),
    (REFERENCE, "gov", 1.0),
)


def test_difference_in_differences_contrast():
    # subject answers 20% of sensitive, 90% of controls; reference 80% / 90%
    obs = _did_obs(0.2, 0.9, 0.8, 0.9)
    assert contrast(obs, TERMS) == pytest.approx((0.2 - 0.9) - (0.8 - 0.9))


def test_bootstrap_interval_covers_the_truth_and_excludes_zero_for_a_real_effect():
    rng = random.Random(1)
    obs = []
    for c in range(20):
        for _ in range(3):
            obs.append(Obs(f"t{c}", SUBJECT, "x", float(rng.random() < 0.3)))
            obs.append(Obs(f"t{c}", REFERENCE, "x", float(rng.random() < 0.8)))
    est = bootstrap(obs, ((SUBJECT, "x", 1.0), (REFERENCE, "x", -1.0)), resamples=500)
    assert est.low <= est.value <= est.high
    assert est.high < 0
    assert est.p_boot < 0.01
    assert est.clusters == 20


def test_bootstrap_of_no_data_is_nan_not_an_error():
    est = bootstrap([Obs("a", SUBJECT, "x", None)], ((SUBJECT, "x", 1.0),))
    assert math.isnan(est.value)
    assert est.p_boot == 1.0


def test_paired_rate_counts_discordant_pairs():
    rows = [Paired(f"c{i}", f"i{i}", "a", False, True) for i in range(8)]
    rows += [Paired("c9", "i9", "a", True, True), Paired("c10", "i10", "a", None, True)]
    m = paired_rate("s", "s.x", "d", rows, StatOptions(resamples=200))
    assert m.subject == pytest.approx(1 / 9)
    assert m.reference == pytest.approx(1.0)
    assert m.p_value == pytest.approx(mcnemar_exact(0, 8))
    assert m.n_subject == 9 and m.n_reference == 10
    assert m.worse
    assert m.mde > 0
