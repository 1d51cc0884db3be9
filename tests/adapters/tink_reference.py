"""Tink, the reference implementation of the client-side encryption format, built from a raw key
(no Tink key generation), so tests can check what Sortie writes against it."""

from __future__ import annotations

from typing import Any

import pytest


def tink_primitive(raw_key: bytes, segment: int) -> Any:
    """A Tink StreamingAead holding `raw_key`, built from its key proto."""
    tink = pytest.importorskip("tink")
    from tink import cleartext_keyset_handle, streaming_aead
    from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

    streaming_aead.register()
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=segment, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256)
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, params=params,
                                                             key_value=raw_key)
    keyset = tink_pb2.Keyset(primary_key_id=1, key=[tink_pb2.Keyset.Key(
        key_data=tink_pb2.KeyData(
            type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
            value=key.SerializeToString(), key_material_type=tink_pb2.KeyData.SYMMETRIC),
        status=tink_pb2.ENABLED, key_id=1, output_prefix_type=tink_pb2.RAW)])
    handle = cleartext_keyset_handle.from_keyset(keyset)
    assert tink is not None
    return handle.primitive(streaming_aead.StreamingAead)
