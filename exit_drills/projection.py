"""From a drill's measured throughput: how long a full exit would take, what its egress would cost,
and whether it fits the EU Data Act's 30-day transition window.

Unknown stays unknown: with no measured throughput or no published price, the figure is the
string "unknown" (never 0), and `fits` is "unknown" too. Prices come from the provider facts the
registry gives for the source backend (its preset, or the family's default preset).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters import registry
from adapters.config import BackendConfig
from adapters.errors import StorageError

from .spec import Projection

WINDOW_DAYS = 30
GB = 1000 ** 3  # providers price egress per decimal gigabyte


@dataclass(frozen=True)
class EgressPrice:
    per_gb: float
    currency: str
    source: str


def project(source_bytes: int, throughput_bytes_per_s: float | None,
            price: EgressPrice | None, price_note: str) -> Projection:
    if throughput_bytes_per_s and throughput_bytes_per_s > 0:
        seconds: float | str = source_bytes / throughput_bytes_per_s
        days: float | str = seconds / 86400  # type: ignore[operator]
        fits: bool | str = days <= WINDOW_DAYS  # type: ignore[operator]
        rate: float | str = throughput_bytes_per_s
    else:
        seconds = days = rate = fits = "unknown"
    if price is not None:
        cost: float | str = round(source_bytes / GB * price.per_gb, 4)
        per_gb: float | str = price.per_gb
        currency, note = price.currency, price.source
    else:
        cost = per_gb = currency = "unknown"
        note = price_note
    return Projection(source_bytes=source_bytes, throughput_bytes_per_s=rate,  # type: ignore[arg-type]
                      full_exit_seconds=seconds, full_exit_days=days,  # type: ignore[arg-type]
                      egress_price_per_gb=per_gb, egress_currency=currency,  # type: ignore[arg-type]
                      egress_cost=cost, price_source=note, window_days=WINDOW_DAYS,  # type: ignore[arg-type]
                      fits=fits)  # type: ignore[arg-type]


def egress_price(settings: BackendConfig | None) -> tuple[EgressPrice | None, str]:
    """The source backend's egress price from its provider facts; (None, why) when unknown."""
    if settings is None:
        return None, "unknown: the source backend's settings were not given"
    try:
        facts = registry.facts(settings)
    except StorageError as exc:
        return None, f"unknown: {exc.message}"
    fact = facts.compliance.egress_price
    where = f"the {facts.preset!r} preset" if facts.preset else f"the {settings.type} backend"
    if fact.value is None:
        return None, f"unknown: {where} publishes no egress price" + (
            f" ({fact.note})" if fact.note else "")
    price = fact.value
    note = fact.source or ""
    if fact.checked:
        note += f" (checked {fact.checked})"
    if facts.note:
        note += f"; {facts.note}"
    if fact.note:
        note += f"; {fact.note}"
    if price.free_gb_per_month:
        note += f"; the first {price.free_gb_per_month:g} GB a month are free (not deducted here)"
    return EgressPrice(price.per_gb, price.currency, note), ""
