"""The exceptions that mean "could not talk to the server" for the families built on `requests`
(Swift, libcloud), shared so both translate the same failures to TransientError.

urllib3's own errors are there too: a body read after `requests` returned (a streamed GET)
raises them bare, e.g. `ReadTimeoutError` or `ProtocolError` when a connection stalls or is
cut mid-body.
"""

from __future__ import annotations

import socket

import requests
import urllib3.exceptions

NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ConnectionError,
    socket.timeout, TimeoutError)
