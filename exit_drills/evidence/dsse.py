"""DSSE envelopes (Dead Simple Signing Envelope, v1.0.2,
https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).

What is signed is the pre-authentication encoding (PAE) of the payload and its type:
    "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
with LEN the byte length in ASCII decimal, so that a signature over one payload type can never
be replayed as another. The envelope is JSON: base64 payload, its type, and the signatures with
the signing key's id.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import SigningKey, key_id, signature_holds

IN_TOTO = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def seal(payload: bytes, key: SigningKey, payload_type: str = IN_TOTO) -> dict[str, Any]:
    return {"payloadType": payload_type,
            "payload": base64.b64encode(payload).decode("ascii"),
            "signatures": [{"keyid": key.keyid,
                            "sig": base64.b64encode(key.sign(pae(payload_type,
                                                                 payload))).decode("ascii")}]}


class EnvelopeError(Exception):
    """An envelope that is malformed or whose signature does not hold; says which."""


def open_envelope(envelope: Any, public: Ed25519PublicKey) -> tuple[str, bytes]:
    """(payload type, payload) of an envelope signed by `public`, else EnvelopeError."""
    try:
        payload_type = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = list(envelope["signatures"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise EnvelopeError(f"the envelope is malformed: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload_type, str):
        raise EnvelopeError("the envelope's payloadType is not a string")
    wanted = key_id(public)
    for signature in signatures:
        try:
            sig = base64.b64decode(signature["sig"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
        if signature_holds(public, sig, pae(payload_type, payload)):
            return payload_type, payload
    named = [s.get("keyid") for s in signatures if isinstance(s, dict)]
    if wanted not in named:
        raise EnvelopeError(f"no signature by this public key (key id {wanted[:16]}...; the "
                            f"envelope names {', '.join(str(n)[:16] + '...' for n in named) or 'none'})")
    raise EnvelopeError("the signature does not hold: the payload or the signature was changed")


def load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EnvelopeError(f"the envelope is not JSON: {exc}") from None
