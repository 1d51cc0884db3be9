"""From a drill's measured throughput: how long a full exit would take, what its egress would cost,
and whether it fits the EU Data Act's 30-day transition window.

Unknown stays unknown: with no measured throughput or no published price, the figure is the
string "unknown" (never 0), and `fits` is "unknown" too.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def egress_price(settings: object | None) -> tuple[EgressPrice | None, str]:
    """The source backend's egress price, from its provider preset; (None, why) when unknown."""
    if settings is None:
        return None, "unknown: the source backend's settings were not given"
    kind = getattr(settings, "type", None)
    if kind == "local":
        # A local disk has no provider and no transfer fee: this 0 is a fact, not a default.
        return EgressPrice(0.0, "EUR", "local disk: no provider egress charge"), ""
    preset = getattr(settings, "preset", None)
    if not preset:
        return None, f"unknown: backend type {kind!r} has no provider preset to price its egress"
    return _preset_price(str(kind), str(preset))


def _preset_price(kind: str, preset: str) -> tuple[EgressPrice | None, str]:
    """Each backend family keeps its presets its own way; read the egress fact from each."""
    try:
        if kind == "azure":
            from adapters.azure.preset import load_preset as load_azure

            egress = load_azure(preset).egress
            if egress.price_per_gb is None:
                return None, f"unknown: the {preset!r} preset publishes no egress price"
            note = f"{egress.source} (checked {egress.checked})" + (
                f"; {egress.note}" if egress.note else "")
            return EgressPrice(egress.price_per_gb, egress.currency, note), ""
        if kind == "s3":
            from adapters.s3.presets import load_preset as load_s3

            fact = load_s3(preset).compliance.egress_price
        elif kind == "swift":
            from adapters.swift.preset import load_preset as load_swift

            fact = load_swift(preset).compliance.egress_price
        else:
            return None, f"unknown: no preset prices for backend type {kind!r}"
    except ImportError:
        return None, f"unknown: the {kind} adapter's presets are not available in this build"
    except Exception as exc:  # noqa: BLE001 - an unreadable preset is an unknown price, not a crash
        return None, f"unknown: cannot read preset {preset!r}: {exc}"
    if fact.value is None:
        return None, f"unknown: the {preset!r} preset publishes no egress price"
    price = fact.value
    note = f"{fact.source} (checked {fact.checked})"
    if price.free_gb_per_month:
        note += f"; the first {price.free_gb_per_month:g} GB a month are free (not deducted here)"
    return EgressPrice(price.per_gb, price.currency, note), ""
