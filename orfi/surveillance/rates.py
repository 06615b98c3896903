"""The measured error rates of early warning, said in words next to each status.

Figures of benchmarks/earlywarning_rates.py (simulated résidences, run of 7 December
2026), quoted in docs/early-warning.md « Measured error rates »; tests check that the
two agree. They are those of simulated series, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    """False alarms per 100 résidence-weeks; share of lasting doublings and
    triplings alerted within 8 weeks (%)."""

    false_alarms: float
    doubling: float
    tripling: float


#: By method: Farrington with 5 past years, with 2 to 4, the CUSUM (h = 4).
RATES = {
    "farrington-5": Rates(0.49, 67.8, 90.0),
    "farrington-2": Rates(0.52, 67.0, 89.2),
    "cusum": Rates(0.50, 82.0, 94.8),
}


def rates_for(method: str | None, years: float | None = None) -> Rates | None:
    """Return the rates of the method that judged a status (None: no method)."""
    if method == "farrington":
        return RATES["farrington-5" if (years or 0) >= 5 else "farrington-2"]
    if method == "cusum":
        return RATES["cusum"]
    return None


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _out_of_ten(share: float) -> int:
    return round(share / 10)


def rates_sentence(method: str | None, years: float | None = None) -> str:
    """« Sur des résidences simulées, … » in words; empty without a method."""
    rates = rates_for(method, years)
    if rates is None:
        return ""
    return (
        "Fiabilité mesurée sur des résidences simulées : environ "
        f"{_decimal(rates.false_alarms)} fausse alerte pour 100 semaines "
        "(moins d'une) ; une hausse durable est signalée dans les 8 semaines "
        f"{_out_of_ten(rates.doubling)} fois sur 10 quand les faits doublent "
        f"({round(rates.doubling)} %), {_out_of_ten(rates.tripling)} fois sur 10 "
        f"quand ils triplent ({round(rates.tripling)} %). Sous un fait par semaine, "
        "une hausse passe souvent inaperçue."
    )
