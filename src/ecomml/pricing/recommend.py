"""Price recommendations: per SKU, the price with the highest expected profit over the next
horizon, within the shop's rules.

Expected units at a candidate price ``p`` are the baseline units at today's price ``c``
(the demand forecast, or the recent sales rate) times ``(p / c) ** e``, averaged over the
elasticity's uncertainty (``e ~ Normal(elasticity, sd)``, so
``E[(p/c)**e] = exp(mean * l + sd**2 * l**2 / 2)`` with ``l = log(p / c)``). The expected profit
is ``(p - cost) x units``. Candidates are today's price and a grid within ``max_change`` of it,
with the shop's price ending, a minimum margin and a ceiling (the list price). A SKU whose
response is not known (its elasticity is not below 0 with ``min_confidence``, or it was
pooled to the shop) keeps its price;
so does one where no candidate beats today's price by ``min_gain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError

__all__ = [
    "RECOMMEND_COLUMNS",
    "PriceRules",
    "apply_ending",
    "consistent_packs",
    "recommend_prices",
]

#: the columns of ``ecomml price recommend``, in order
RECOMMEND_COLUMNS = [
    "sku",
    "current_price",
    "recommended_price",
    "elasticity",
    "elasticity_low",
    "elasticity_high",
    "expected_units",
    "expected_revenue_change",
    "expected_profit_change",
    "reason",
    "change",
    "cost",
    "baseline_units",
    "source",
]
ENDINGS = ("none", ".99", ".9")


@dataclass(frozen=True)
class PriceRules:
    """The shop's pricing rules.

    ``min_margin``: ``(price - cost) / price`` at least this; ``max_change``: at most this
    relative move per step; ``ending``: ``.99`` (x.99), ``.9`` (x.90) or ``none`` (cents);
    ``ceiling``: never above the list price (``list``) or no ceiling (``none``);
    ``min_gain``: a change must raise expected profit by at least this share;
    ``min_confidence``: change only SKUs whose elasticity is negative with at least this
    probability (0.8: the mean at least 0.84 standard deviations below 0)."""

    min_margin: float = 0.1
    max_change: float = 0.1
    ending: str = ".99"
    ceiling: str = "list"
    min_gain: float = 0.005
    min_confidence: float = 0.8

    def check(self) -> PriceRules:
        """Refuse rules that contradict themselves or cannot hold, with one line each."""
        if not 0.0 <= self.min_margin < 1.0:
            raise ConfigError(
                f"--min-margin {self.min_margin}: a margin share must be in [0, 1) (0.1 = 10 %)"
            )
        if not 0.0 < self.max_change < 1.0:
            raise ConfigError(
                f"--max-change {self.max_change}: the largest move per step must be in (0, 1) "
                "(0.1 = 10 %)"
            )
        if self.ending not in ENDINGS:
            raise ConfigError(f"--ending {self.ending!r}: use one of {', '.join(ENDINGS)}")
        if self.ceiling not in ("list", "none"):
            raise ConfigError(f"--ceiling {self.ceiling!r}: use list or none")
        if self.ending != "none" and self.max_change < 0.02:
            raise ConfigError(
                f"--max-change {self.max_change} with --ending {self.ending}: the ending moves "
                "a price by up to a unit, more than the allowed change for most prices; "
                "allow at least 0.02 or use --ending none"
            )
        if not 0.5 <= self.min_confidence < 1.0:
            raise ConfigError(f"--min-confidence {self.min_confidence}: must be in [0.5, 1)")
        if self.min_gain < 0:
            raise ConfigError(f"--min-gain {self.min_gain}: must be >= 0")
        return self


def apply_ending(price: np.ndarray, ending: str) -> np.ndarray:
    """Round prices to the shop's ending: ``.99`` -> the nearest x.99, ``.9`` -> the nearest
    x.90 (prices under 1 keep cents), ``none`` -> cents."""
    p = np.asarray(price, dtype=np.float64)
    if ending == "none":
        return np.round(p, 2)
    step = 0.01 if ending == ".99" else 0.1
    out = np.round(p + step) - step
    # under 1 the cents stay, but rounding may not carry a price to 1.00 (not an ending)
    return np.where(p >= 1.0, np.round(out, 2), np.minimum(np.round(p, 2), 0.99))


def _expected_ratio(lr: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return np.exp(mean * lr + 0.5 * (sd * lr) ** 2)


def recommend_prices(
    table: pd.DataFrame, rules: PriceRules, *, interval: float = 0.9, grid: int = 41
) -> pd.DataFrame:
    """Recommend a price per row of ``table`` (``sku, current_price, cost, ceiling_price,
    baseline_units, elasticity, elasticity_low, elasticity_high, source``): the columns
    :data:`RECOMMEND_COLUMNS`."""
    from scipy import stats

    rules.check()
    z = float(stats.norm.ppf(0.5 + interval / 2))
    t = table.reset_index(drop=True)
    n = len(t)
    cur = t["current_price"].to_numpy(np.float64)
    cost = t["cost"].to_numpy(np.float64)
    base = t["baseline_units"].to_numpy(np.float64)
    mean = t["elasticity"].to_numpy(np.float64)
    sd = t["elasticity_high"].to_numpy(np.float64) - t["elasticity_low"].to_numpy(np.float64)
    sd = sd / (2 * z)
    ceil = (
        t["ceiling_price"].to_numpy(np.float64)
        if rules.ceiling == "list" and "ceiling_price" in t
        else np.full(n, np.inf)
    )
    ratios = 1.0 + np.linspace(-rules.max_change, rules.max_change, grid)
    cand = apply_ending(cur[:, None] * ratios[None, :], rules.ending)
    cand = np.concatenate([cur[:, None], cand], axis=1)  # column 0: keep today's price
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (
            (cand > 0)
            & (np.abs(cand / cur[:, None] - 1.0) <= rules.max_change + 1e-9)
            & ((cand - cost[:, None]) / cand >= rules.min_margin - 1e-12)
            & (cand <= ceil[:, None] + 1e-9)
        )
        lr = np.log(cand / cur[:, None])
        units = base[:, None] * _expected_ratio(lr, mean[:, None], sd[:, None])
        profit = (cand - cost[:, None]) * units
    ok[:, 0] = True  # today's price is always allowed (it is what happens without a change)
    score = np.where(ok, profit, -np.inf)
    best = np.argmax(score, axis=1)
    rows = np.arange(n)
    keep_profit = profit[:, 0]
    gain = profit[rows, best] - keep_profit
    zc = float(stats.norm.ppf(rules.min_confidence))
    known = (
        np.isfinite(mean) & np.isfinite(sd) & (mean + zc * sd < 0)
        & (t["source"].to_numpy() != "shop")
    )  # fmt: skip
    has_cost = np.isfinite(cost)
    has_base = np.isfinite(base) & (base > 0)
    feasible = ok[:, 1:].any(axis=1)
    worth = gain > rules.min_gain * np.abs(keep_profit)
    change = known & has_cost & has_base & worth & feasible
    pick = np.where(change, best, 0)
    rec = cand[rows, pick]
    units_rec = units[rows, pick]
    reason = _reasons(t, cand, cur, cost, ceil, rec, rules, known, has_cost, has_base,
                      feasible, change)  # fmt: skip
    out = pd.DataFrame(
        {
            "sku": t["sku"].to_numpy(),
            "current_price": cur,
            "recommended_price": rec,
            "elasticity": mean,
            "elasticity_low": t["elasticity_low"].to_numpy(np.float64),
            "elasticity_high": t["elasticity_high"].to_numpy(np.float64),
            "expected_units": np.where(has_base, units_rec, np.nan),
            "expected_revenue_change": np.where(
                has_base, rec * units_rec - cur * units[:, 0], np.nan
            ),  # fmt: skip
            "expected_profit_change": np.where(
                has_base & has_cost, profit[rows, pick] - keep_profit, np.nan
            ),  # fmt: skip
            "reason": reason,
            "change": rec / cur - 1.0,
            "cost": cost,
            "baseline_units": base,
            "source": t["source"].to_numpy(),
        }
    )
    return out[RECOMMEND_COLUMNS]


def consistent_packs(
    recs: pd.DataFrame, packs: pd.DataFrame, rules: PriceRules, *, interval: float = 0.9
) -> pd.DataFrame:
    """Recommendations where a bigger pack never costs more per unit than a smaller pack of
    the same ``pack_group`` (``packs``: ``sku, pack_group, pack_size``).

    Within a group, packs are visited from the smallest up; a pack whose recommended unit
    price is above the lowest unit price of the smaller packs is lowered to that unit price
    (rounded down to the shop's ending). Where that breaks the minimum margin or the
    largest step, the pack keeps today's price and the smaller packs that set the bar are
    kept at theirs too, when that resolves it; a group that today's prices already break is
    left as it is and its reason says so. Expected units and changes follow the new price.
    """
    need = {"sku", "pack_group", "pack_size"}
    if not need <= set(packs.columns):
        return recs
    p = packs.dropna(subset=["pack_group", "pack_size"])
    p = p.loc[p["pack_size"] > 0].drop_duplicates("sku", keep="last")
    out = recs.copy()
    pos = {s: i for i, s in enumerate(out["sku"].astype(str))}
    p = p.loc[p["sku"].astype(str).isin(pos)]
    rec = out["recommended_price"].to_numpy(np.float64).copy()
    cur = out["current_price"].to_numpy(np.float64)
    cost = out["cost"].to_numpy(np.float64)
    reason = out["reason"].astype(str).to_numpy(dtype=object).copy()
    for _, g in p.groupby(p["pack_group"].astype(str), sort=False):
        if len(g) < 2:
            continue
        g = g.sort_values("pack_size", kind="mergesort")
        idx = np.array([pos[str(s)] for s in g["sku"]])
        size = g["pack_size"].to_numpy(np.float64)
        if np.any(np.diff(cur[idx] / size) > 1e-9):
            for i in idx:
                reason[i] += (
                    "; pack sizes: today's prices already charge more per unit for a bigger pack"
                )
            continue
        for k in range(1, len(idx)):
            bar = np.min(rec[idx[:k]] / size[:k])
            i = idx[k]
            if rec[i] / size[k] <= bar + 1e-9:
                continue
            capped = _floor_ending(bar * size[k], rules.ending)
            ok = ((capped - cost[i]) / capped >= rules.min_margin - 1e-12
                  and abs(capped / cur[i] - 1.0) <= rules.max_change + 1e-9)  # fmt: skip
            if ok:
                rec[i] = capped
                reason[i] = f"pack sizes: lowered to {bar:.2f} a unit, the smaller packs' price"
            else:  # keep this pack and the smaller ones above today's unit price
                rec[i] = cur[i]
                reason[i] = "kept: a bigger pack may not cost more per unit than a smaller one"
                for jj, j in enumerate(idx[:k]):
                    if rec[j] / size[jj] < cur[i] / size[k]:
                        rec[j] = cur[j]
                        reason[j] = ("kept: the pack-size rule (its bigger pack could not "
                                     "follow the change)")  # fmt: skip
    changed = rec != out["recommended_price"].to_numpy(np.float64)
    if changed.any():
        from scipy import stats

        z = float(stats.norm.ppf(0.5 + interval / 2))
        e = out["elasticity"].to_numpy(np.float64)
        sd = (out["elasticity_high"] - out["elasticity_low"]).to_numpy(np.float64) / (2 * z)
        base = out["baseline_units"].to_numpy(np.float64)
        units = base * _expected_ratio(np.log(rec / cur), e, sd)  # as recommend_prices does
        units0 = base
        out.loc[changed, "expected_units"] = units[changed]
        out.loc[changed, "expected_revenue_change"] = (rec * units - cur * units0)[changed]
        out.loc[changed, "expected_profit_change"] = ((rec - cost) * units - (cur - cost) * units0)[
            changed
        ]
        out["recommended_price"] = rec
        out["change"] = rec / cur - 1.0
    out["reason"] = reason
    return out


def _floor_ending(price: float, ending: str) -> float:
    """The highest price with the shop's ending at or below ``price``: the nearest one
    (:func:`apply_ending`), one ending lower when that is above ``price``."""
    p = float(apply_ending(np.array([price]), ending)[0])
    if p <= price + 1e-9:
        return p
    return round(p - (1.0 if ending != "none" and price >= 1.0 else 0.01), 2)


def _reasons(
    t: pd.DataFrame, cand: np.ndarray, cur: np.ndarray, cost: np.ndarray, ceil: np.ndarray,
    rec: np.ndarray, rules: PriceRules, known: np.ndarray, has_cost: np.ndarray,
    has_base: np.ndarray, feasible: np.ndarray, change: np.ndarray,
) -> list[str]:  # fmt: skip
    out = []
    floor = cost / (1.0 - rules.min_margin)
    for i in range(len(t)):
        e = t["elasticity"].iat[i]
        if not has_cost[i]:
            out.append("kept: no cost in the catalog, so no margin to compare")
        elif not has_base[i]:
            out.append("kept: no recent sales or forecast to price against")
        elif not known[i]:
            out.append(f"kept: price response unknown (elasticity {e:.2f}, not surely below "
                       "0, or no estimate of its own or its category's)")  # fmt: skip
        elif not feasible[i]:
            out.append(
                f"kept: the rules contradict here (a {rules.min_margin:.0%} margin needs at "
                f"least {floor[i]:.2f}, the ceiling is {ceil[i]:.2f})"
                if floor[i] > ceil[i]
                else "kept: no price within the rules"
            )
        elif not change[i]:
            out.append(f"kept: no price within the rules earns more (elasticity {e:.2f})")
        else:
            move = rec[i] / cur[i] - 1.0
            why = (
                f"inelastic ({e:.2f}): fewer units, more margin"
                if move > 0
                else f"elastic ({e:.2f}): more units make up the lower price"
            )
            out.append(f"{'raise' if move > 0 else 'cut'} {abs(move):.0%}: {why}")
    return out
