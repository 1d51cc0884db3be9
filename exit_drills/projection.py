"""From a drill's measured throughput: how long a full exit would take, what its egress would cost,
and whether it fits the EU Data Act's 30-day transition window.

Unknown stays unknown: with no measured throughput or no published price, the figure is the
string "unknown" (never 0), and `fits` is "unknown" too. Prices come from the provider facts the
registry gives for the source backend (its preset, or the family's default preset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


#: An incremental drill projects from its own copy rate only when it copied at least this much:
#: below, fixed costs (process start, listing, connection set-up, the first requests' slow start:
#: about a second in the benchmarks) weigh more than the transfer, and a few bytes copied in
#: half a second projected "128 days" for 75 MB. 64 MiB is several seconds of transfer at the
#: rates these backends reach. A full drill always measures its own rate: its source is exactly
#: what a full exit would move.
MEASURABLE_COPY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Rate:
    bytes_per_s: float | None
    basis: str


def choose_rate(mode: str, bytes_copied: int, bytes_read: int, duration_s: float,
                earlier_full: Callable[[], tuple[str, str, float] | None]) -> Rate:
    """The throughput a projection may rest on (see `Projection.throughput_basis`).
    `earlier_full()` gives (drill id, finished, copy bytes/s) of the last passed full drill of
    the same source and target, or None."""
    if mode == "verify-only":
        if bytes_read and duration_s > 0:
            return Rate(bytes_read / duration_s, "read throughput of this verify-only drill "
                        "(bytes read to compare, over its duration): reading, not copying; a "
                        "copy is usually slower")
        return Rate(None, "unknown: this verify-only drill read nothing")
    if bytes_copied and duration_s > 0 and (mode == "full"
                                            or bytes_copied >= MEASURABLE_COPY_BYTES):
        return Rate(bytes_copied / duration_s,
                    "copy throughput of this drill (bytes copied over its duration)")
    found = earlier_full()
    if found is not None:
        drill_id, finished, rate = found
        return Rate(rate, f"copy throughput of the last full drill of the same source and target, "
                          f"{drill_id} (finished {finished}): this {mode} drill copied "
                          f"{bytes_copied} bytes, too few to measure a rate")
    return Rate(None, f"unknown: this {mode} drill copied {bytes_copied} bytes (a rate needs "
                      f"{MEASURABLE_COPY_BYTES // (1024 * 1024)} MiB or a full drill), and no "
                      "earlier full drill of the same source and target passed")


def project(source_bytes: int, throughput_bytes_per_s: float | None,
            price: EgressPrice | None, price_note: str, basis: str = "") -> Projection:
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
                      throughput_basis=basis,
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
