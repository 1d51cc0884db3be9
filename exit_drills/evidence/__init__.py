"""Evidence an auditor can check offline: Ed25519 keys, DSSE envelopes, signed drill attestations."""
