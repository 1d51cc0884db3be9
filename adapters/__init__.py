"""Storage backends behind one small contract (see contract.py)."""

from .contract import (BaseStore, ByteRange, Capabilities, Feature, ListPage, ObjectInfo,
                       ObjectStore)
from .errors import (AlreadyExists, AuthError, BackendError, BucketNotFound, Conflict,
                     IntegrityError, InvalidMetadata, InvalidName, InvalidRequest, NotFound,
                     ObjectNotFound, RangeNotSatisfiable, StorageError, TooLarge, TransientError,
                     Unsupported)
from .registry import build_store
from .streams import IngestStream, ObjectReader, PutSource

__all__ = [
    "AlreadyExists", "AuthError", "BackendError", "BaseStore", "BucketNotFound", "ByteRange",
    "Capabilities", "Conflict", "Feature", "IngestStream", "IntegrityError", "InvalidMetadata", "InvalidName",
    "InvalidRequest", "ListPage", "NotFound", "ObjectInfo", "ObjectNotFound", "ObjectReader",
    "ObjectStore", "PutSource", "RangeNotSatisfiable", "StorageError", "TooLarge",
    "TransientError", "Unsupported", "build_store",
]
