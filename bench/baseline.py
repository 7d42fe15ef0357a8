"""The toy rule written by hand in Python: the yardstick of the benchmarks, never used by guichet.

From the aggregated figures of an application (licence and deployment amounts, mutualisation,
licence count, fragile territory, frugal AI), the eligible amounts with the deployment cap, the base
tier, two bonuses, the 50 % ceiling and the grant rounded down to the cent.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")
HIGHER, STANDARD, BONUS, CEILING = Decimal("0.40"), Decimal("0.30"), Decimal("0.10"), Decimal("0.50")


def toy_rule(licence: Decimal, deployment: Decimal, mutualised: bool, licences: int, fragile: bool,
             frugal: bool) -> tuple[Decimal, Decimal, Decimal]:
    """Eligible total, final rate and grant."""
    eligible_deployment = min(deployment, licence)
    rate = HIGHER if mutualised or licences >= 500 else STANDARD
    if fragile:
        rate += BONUS
    if frugal:
        rate += BONUS
    rate = min(rate, CEILING)
    grant = (licence * rate).quantize(CENT, ROUND_DOWN) + (eligible_deployment * rate).quantize(CENT, ROUND_DOWN)
    return licence + eligible_deployment, rate, grant
