"""What each libcloud driver can and cannot do, as data, and the small pieces that differ.

A profile says how keys become the driver's object names (a codec), which metadata names survive
(or that none do, so Sortie keeps its metadata in a sidecar object), whether an upload is only
visible once complete, whether byte ranges are served efficiently, and what the adapter cannot
honour at all (`lacks`, which Capabilities carry and the conformance suite skips by feature).

Drivers without a profile get GENERIC, whose assumptions are those of cloud object stores: an
upload becomes visible only when complete, metadata names are lowercased, and listings come in
byte order of the names. Add a profile when a driver is known to differ.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import metadata as md
from ..contract import Feature
from ..keys import KeyCodec
from ..keys.backslash import BACKSLASH_CODEC
from ..keys.hex_path import HexPathCodec

#: Objects Sortie keeps for itself in a container (sidecars, uploads in progress) live under this
#: name prefix; only profiles whose codec can never produce it use it.
RESERVED = ".sortie/"


def _local_promote(driver: Any, container: Any, staged: Any, name: str) -> None:
    """LOCAL: make a staged upload visible under its final name with one rename (atomic)."""
    source = driver.get_object_cdn_url(staged)
    target = os.path.join(driver.get_container_cdn_url(container), name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(source, target)


#: Names the Azure service keeps, as libcloud returns them: libcloud lowercases response headers,
#: so case is lost; names must be C# identifiers (no dash).
LIBCLOUD_AZURE_RULES = md.MetadataRules(native_key=re.compile(r"^[a-z][a-z0-9_]*$"),
                                        fold_case=True, internal_separator="_")


@dataclass(frozen=True)
class DriverProfile:
    codec: KeyCodec = field(default_factory=KeyCodec)
    #: How metadata names survive the driver; None: it keeps none, Sortie writes a sidecar.
    metadata: md.MetadataRules | None = md.SWIFT_RULES
    #: Upload to a reserved name, then this makes it visible at once; None: the driver's own
    #: upload is trusted to be all-or-nothing (`atomic_upload`).
    promote: Callable[[Any, Any, Any, str], None] | None = None
    #: An upload is visible only once complete, and an aborted one leaves nothing.
    atomic_upload: bool = True
    #: download_object_range_as_stream reads only the range (else the adapter skips bytes).
    ranges: bool = True
    #: Contract features this driver cannot honour, with the reason.
    lacks: Mapping[Feature, str] = field(default_factory=dict)
    #: Extra driver keyword arguments this profile always needs.
    driver_defaults: Mapping[str, Any] = field(default_factory=dict)


GENERIC = DriverProfile()

PROFILES: dict[str, DriverProfile] = {
    # Writes straight to the final file, keeps no metadata, reads a whole file to serve a range.
    # Its locks are off: they leave one file per object path in the system temp dir, and Sortie
    # never writes a final path in place (unique staged name, then one atomic rename).
    "LOCAL": DriverProfile(codec=HexPathCodec(), metadata=None, promote=_local_promote,
                           atomic_upload=False, ranges=False,
                           driver_defaults={"ex_use_locking": False}),
    # Blocks, then one commit: all-or-nothing. Metadata names lowercased by libcloud.
    "AZURE_BLOBS": DriverProfile(codec=BACKSLASH_CODEC, metadata=LIBCLOUD_AZURE_RULES),
}


def profile_for(provider: str) -> DriverProfile:
    profile = PROFILES.get(provider.upper(), GENERIC)
    if profile.promote is None and not profile.atomic_upload:
        # Nothing makes such a driver's uploads atomic: say so rather than pretend.
        reason = "uploads of this driver become visible while they are written"
        profile = DriverProfile(**{**profile.__dict__,
                                   "lacks": {**profile.lacks, Feature.atomic_put: reason}})
    if not profile.ranges:
        profile = DriverProfile(**{**profile.__dict__, "lacks": {
            **profile.lacks, Feature.partial_reads: "the driver reads the whole object to serve "
                                                    "a range"}})
    return profile
