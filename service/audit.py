"""The audit log: one JSON line per data access, appended to a file that is never rewritten.

Health and personal data need to know who read what: each line names the token's id (never the
token), the action, logical bucket and key, the HTTP status and the bytes actually moved. Lines are
written after the response completes, so `bytes_out` counts what was sent, not what was planned.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from exit_drills.private import private_dir


class AuditLog:
    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self.path = path
        # O_APPEND: every write lands at the end, even with several gateway processes.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            # One write() per line keeps lines whole when processes share the file.
            os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
