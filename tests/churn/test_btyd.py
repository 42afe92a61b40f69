"""BG/NBD, MBG/NBD and Gamma-Gamma: recovery of known parameters, gradients, stability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

from ecomml.churn import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from ecomml.exceptions import DataQualityError, NotFittedError


def simulate_bgnbd(
    n: int, r: float, alpha: float, a: float, b: float, T: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate BG/NBD customers observed for T time units from their first purchase."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, tx, np.full(n, T)


@pytest.fixture(scope="module")
def sim() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_bgnbd(4000, 0.5, 5.0, 0.8, 2.5, 40.0, np.random.default_rng(1))


def test_recovers_simulated_parameters(sim) -> None:  # type: ignore[no-untyped-def]
    m = BetaGeoModel().fit(*sim)
    true = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    for k, v in true.items():
        assert m.params_[k] == pytest.approx(v, rel=0.35), k
    # the expected purchase count of the fitted population matches the simulation
    x, tx, T = sim
    assert m.expected_purchases_new(40.0) == pytest.approx(x.mean(), rel=0.1)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_analytic_gradient(cls, sim) -> None:  # type: ignore[no-untyped-def]
    x, tx, T = (v[:300] for v in sim)
    m = cls()
    w = np.ones_like(x)
    for theta in (np.log([0.5, 5.0, 0.8, 2.5]), np.log([2.0, 1.0, 3.0, 0.7])):
        err = check_grad(
            lambda th: m._negll(th, x, tx, T, w)[0],
            lambda th: m._negll(th, x, tx, T, w)[1],
            theta,
        )
        assert err < 1e-5


def test_gamma_gamma_gradient_and_fit() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.integers(1, 10, n).astype(float)
    nu = rng.gamma(4.0, 1 / 20.0, n)  # q=4, gamma=20
    m = np.array([rng.gamma(6.0 * k, 1 / v) / k for k, v in zip(x, nu, strict=True)])  # p=6
    err = check_grad(
        lambda th: GammaGammaModel._negll(th, x, m)[0],
        lambda th: GammaGammaModel._negll(th, x, m)[1],
        np.log([2.0, 3.0, 10.0]),
    )
    assert err < 1e-5
    gg = GammaGammaModel().fit(x, m)
    assert gg.params_["p"] == pytest.approx(6.0, rel=0.25)
    spend = gg.predict_spend(x, m)
    assert np.all(spend > 0)
    assert spend.mean() == pytest.approx(m.mean(), rel=0.1)
    # one-time buyers get the population mean
    assert gg.predict_spend([0], [0])[0] == pytest.approx(gg.predict_spend([0], [np.nan])[0])
    with pytest.raises(DataQualityError, match="negative average order value"):
        GammaGammaModel().fit([1, 2], [-5.0, 3.0])


def test_predictions_are_sane(sim) -> None:  # type: ignore[no-untyped-def]
    for cls in (BetaGeoModel, ModifiedBetaGeoModel):
        m = cls().fit(*sim)
        x, tx, T = sim
        alive = m.predict_alive(x, tx, T)
        assert np.all((alive >= 0) & (alive <= 1))
        e10 = m.predict_purchases(10, x, tx, T)
        e20 = m.predict_purchases(20, x, tx, T)
        assert np.all(e20 >= e10 - 1e-12)
        anyp = m.predict_any_purchase(10, x, tx, T)
        assert np.all((anyp >= 0) & (anyp <= alive + 1e-12))
    bg = BetaGeoModel().fit(*sim)
    assert np.all(bg.predict_alive([0], [0], [40]) == 1.0)  # BG/NBD: one-time buyers alive
    mbg = ModifiedBetaGeoModel().fit(*sim)
    assert mbg.predict_alive([0], [0], [40])[0] < 1.0
    # a customer who bought often but long ago is less likely alive than a recent one
    assert bg.predict_alive([10], [5], [40])[0] < bg.predict_alive([10], [39], [40])[0]


def test_no_overflow_with_millions_and_huge_counts() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    x = rng.poisson(2, n).astype(float)
    x[:10] = [500, 1000, 5000, 0, 1, 2, 3, 4, 5, 6]
    T = rng.uniform(1, 500, n)
    tx = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    m = BetaGeoModel()
    ll, grad = m._negll(np.log([0.5, 5.0, 0.8, 2.5]), x, tx, T, np.ones(n))
    assert np.isfinite(ll) and np.all(np.isfinite(grad))
    m.params_ = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    assert np.all(np.isfinite(m.predict_alive(x[:10], tx[:10], T[:10])))


def test_to_dict_round_trip(sim) -> None:  # type: ignore[no-untyped-def]
    m = ModifiedBetaGeoModel().fit(*sim)
    m2 = BetaGeoModel.from_dict(m.to_dict())
    assert type(m2) is ModifiedBetaGeoModel
    np.testing.assert_allclose(m.predict_alive(*sim), m2.predict_alive(*sim))


def test_bad_input() -> None:
    with pytest.raises(DataQualityError, match="recency greater than T"):
        BetaGeoModel().fit([1, 2], [5, 50], [10, 20])
    with pytest.raises(DataQualityError, match="negative"):
        BetaGeoModel().fit([1, -1], [5, 1], [10, 20])
    with pytest.raises(DataQualityError, match="non-integer"):
        BetaGeoModel().fit([1.5], [5], [10])
    with pytest.raises(DataQualityError, match="no customers"):
        BetaGeoModel().fit([], [], [])
    with pytest.raises(NotFittedError):
        BetaGeoModel().predict_alive([1], [1], [2])


# ---------------------------------------------------------------------- Pareto/NBD
def simulate_pareto_nbd(
    n: int, r: float, alpha: float, s: float, beta: float, T: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pareto/NBD customers: Poisson purchases at λ ~ Gamma(r, α) until an exponential
    lifetime at μ ~ Gamma(s, β) ends, observed for T time units (vectorised)."""
    lam = rng.gamma(r, 1 / alpha, n)
    life = np.minimum(rng.exponential(1 / rng.gamma(s, 1 / beta, n)), T)
    x = rng.poisson(lam * life).astype(float)
    # given x purchases in (0, life), the last one is the max of x uniforms on it
    tx = np.where(x > 0, life * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, tx, np.full(n, T)


@pytest.fixture(scope="module")
def pareto_sim() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_pareto_nbd(6000, 0.6, 10.0, 0.5, 9.0, 40.0, np.random.default_rng(2))


def test_pareto_nbd_recovers_simulated_parameters(pareto_sim) -> None:  # type: ignore[no-untyped-def]
    m = ParetoNBDModel().fit(*pareto_sim)
    x = pareto_sim[0]
    # r/alpha (the mean buying rate) and s/beta (the mean dropout rate) are well identified
    assert m.params_["r"] / m.params_["alpha"] == pytest.approx(0.06, rel=0.15)
    assert m.params_["s"] / m.params_["beta"] == pytest.approx(0.5 / 9.0, rel=0.35)
    assert m.expected_purchases_new(40.0) == pytest.approx(x.mean(), rel=0.1)
    # it fits its own population better than BG/NBD does
    assert m.log_likelihood_ > BetaGeoModel().fit(*pareto_sim).log_likelihood_


def test_pareto_nbd_any_purchase_matches_simulation(pareto_sim) -> None:  # type: ignore[no-untyped-def]
    """P(a purchase in the next 20) by the closed form + quadrature against a Monte Carlo
    draw from the same posterior, for a one-time buyer and two repeaters."""
    m = ParetoNBDModel().fit(*pareto_sim)
    r, alpha, s, beta = (m.params_[k] for k in ("r", "alpha", "s", "beta"))
    rng = np.random.default_rng(0)
    for x, tx, t in ((0, 0.0, 40.0), (3, 35.0, 40.0), (8, 12.0, 40.0)):
        alive = m.predict_alive([x], [tx], [t])[0]
        lam = rng.gamma(r + x, 1 / (alpha + t), 400_000)
        mu = rng.gamma(s, 1 / (beta + t), 400_000)
        first, life = rng.exponential(1 / lam), rng.exponential(1 / mu)
        mc = alive * np.mean(first < np.minimum(life, 20.0))
        assert m.predict_any_purchase(20.0, [x], [tx], [t])[0] == pytest.approx(mc, abs=4e-3)
    # the longer the quiet spell since the last purchase, the less likely alive
    assert m.predict_alive([3, 3], [35.0, 5.0], [40.0, 40.0]).tolist() == sorted(
        m.predict_alive([3, 3], [35.0, 5.0], [40.0, 40.0]).tolist(), reverse=True
    )
    e = m.predict_purchases(20.0, [0, 3, 8], [0.0, 35.0, 12.0], [40.0] * 3)
    assert (e >= 0).all() and e[1] > e[0]


def test_pareto_nbd_round_trip_and_churn_model(pareto_sim) -> None:  # type: ignore[no-untyped-def]
    m = ParetoNBDModel().fit(*pareto_sim)
    back = BetaGeoModel.from_dict(m.to_dict())
    assert isinstance(back, ParetoNBDModel)
    np.testing.assert_allclose(back.predict_alive(*pareto_sim), m.predict_alive(*pareto_sim))
