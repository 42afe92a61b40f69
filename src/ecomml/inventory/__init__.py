"""Inventory: ABC/XYZ classes, forecast-driven stock levels, replenishment plans and a
policy simulator.

>>> from ecomml.inventory import classify_skus, replenishment_plan   # doctest: +SKIP
>>> plan = replenishment_plan(forecast, transactions, "2026-11-23", lead_time=14)  # doctest: +SKIP
>>> plan.plan[["sku", "abc", "order_up_to", "order_qty"]]             # doctest: +SKIP
"""

from __future__ import annotations

from ecomml.inventory.budget import (
    DEFAULT_MARGIN_RATE,
    BudgetAllocation,
    allocate_budget,
    budget_allocation,
    pro_rata_orders,
    unit_margins,
)
from ecomml.inventory.classify import (
    CLEARANCE_COLUMNS,
    DEFAULT_CELL_TARGETS,
    MEASURES,
    abc_classify,
    abc_xyz_matrix,
    cell_targets,
    class_migration,
    class_summary,
    classify_skus,
    clearance_candidates,
    xyz_classify,
)
from ecomml.inventory.plan import PLAN_COLUMNS, ReplenishmentPlan, replenishment_plan, unit_costs
from ecomml.inventory.policy import (
    classic_levels,
    forecast_levels,
    lead_time_periods,
    round_orders,
)
from ecomml.inventory.simulate import (
    SimulationResult,
    calibrate_service_level,
    inventory_at_equal_service,
    simulate_policy,
    tradeoff_curve,
)
from ecomml.inventory.task import InventoryTask

__all__ = [
    "DEFAULT_CELL_TARGETS",
    "MEASURES",
    "PLAN_COLUMNS",
    "abc_classify",
    "xyz_classify",
    "classify_skus",
    "abc_xyz_matrix",
    "cell_targets",
    "class_migration",
    "class_summary",
    "forecast_levels",
    "classic_levels",
    "lead_time_periods",
    "round_orders",
    "replenishment_plan",
    "ReplenishmentPlan",
    "unit_costs",
    "simulate_policy",
    "SimulationResult",
    "tradeoff_curve",
    "inventory_at_equal_service",
    "calibrate_service_level",
    "InventoryTask",
    "DEFAULT_MARGIN_RATE",
    "BudgetAllocation",
    "allocate_budget",
    "budget_allocation",
    "pro_rata_orders",
    "unit_margins",
    "CLEARANCE_COLUMNS",
    "clearance_candidates",
]
