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
    "CLEARANCE_COLUMNS",
    "DEFAULT_CELL_TARGETS",
    "DEFAULT_MARGIN_RATE",
    "MEASURES",
    "PLAN_COLUMNS",
    "BudgetAllocation",
    "InventoryTask",
    "ReplenishmentPlan",
    "SimulationResult",
    "abc_classify",
    "abc_xyz_matrix",
    "allocate_budget",
    "budget_allocation",
    "calibrate_service_level",
    "cell_targets",
    "class_migration",
    "class_summary",
    "classic_levels",
    "classify_skus",
    "clearance_candidates",
    "forecast_levels",
    "inventory_at_equal_service",
    "lead_time_periods",
    "pro_rata_orders",
    "replenishment_plan",
    "round_orders",
    "simulate_policy",
    "tradeoff_curve",
    "unit_costs",
    "unit_margins",
    "xyz_classify",
]
