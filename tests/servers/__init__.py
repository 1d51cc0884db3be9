"""Real storage servers for the tests, started on 127.0.0.1 with free ports and stopped afterwards.

One module per server (seaweedfs, azurite, swift); each offers a session fixture `server_<name>`
(tests/conftest.py exposes fixtures of rig modules; server modules are imported by the rigs that
use them) and skips with the reason where the server cannot run here.
"""
