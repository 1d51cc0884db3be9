"""Run the ceph s3-tests suite (../shared/s3-tests, unchanged) against Sortie's S3 front on a
local backend or on Azurite, and compare with the checked-in list of tests expected to fail on
it, each with its reason (tests/s3api/ceph-expected-failures[-azurite].txt). Exits 1 when a
listed test passes (take it off the list) or an unlisted one fails (a regression, or say why).
`--update` rewrites the list from this run, a reason per test from the error it met (review the
diff before committing it).

    make s3-tests          # both backends; or: .venv/bin/python scripts/s3-tests.py
                           #   [--backend local|azurite] [--update]

The suite runs in its own virtualenv (.venv-s3tests, its requirements.txt), from a copy (the
shared folder is read-only), with the marker expression of its SCOPE.md (440 tests).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The suite, beside the project (../shared/s3-tests) unless S3_TESTS_DIR names it.
SUITE = Path(os.environ.get("S3_TESTS_DIR") or ROOT / ".." / "shared" / "s3-tests").resolve()
EXPECTED = {"local": ROOT / "tests" / "s3api" / "ceph-expected-failures.txt",
            "azurite": ROOT / "tests" / "s3api" / "ceph-expected-failures-azurite.txt"}
VENV = ROOT / ".venv-s3tests"
SORTIE = [sys.executable, "-m", "service"]

#: The reason a failure is expected, from the error it met (first match wins).
REASONS = [
    (r"CreateMultipartUpload|UploadPart|'uploads?'|uploadId", "multipart uploads: not built yet"),
    (r"canned private ACL|PutBucketAcl|PutObjectAcl|GetBucketAcl|GetObjectAcl|Grant",
     "ACL grants: Sortie gives access by tokens and scopes, only the canned private ACL"),
    (r"versioning|VersionId", "versioning: Sortie keeps one version per key"),
    (r"publicAccessBlock|PublicAccessBlock|IsPublic", "public access blocks: not served"),
    (r"object-lock|retention|legal-hold|ObjectLock", "object lock: not served"),
    (r"'policy'|BucketPolicy", "bucket policies: not served"),
    (r"Signature Version 2|AWS4-HMAC", "anonymous or Signature Version 2 requests: refused"),
    (r"anonymous access", "anonymous access: refused (tokens only)"),
    (r"Checksum", "x-amz-checksum-* on GET: not returned yet"),
    (r"'attributes'|GetObjectAttributes", "GetObjectAttributes: not served"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r",
                        str(SUITE / "requirements.txt"), "pytest-timeout"], check=True)
    return python


def _credentials(config: Path, env: dict[str, str]) -> tuple[str, str]:
    made = subprocess.run([*SORTIE, "token", "create", "--config", str(config), "--scope",
                           "admin", "--s3"], capture_output=True, text=True, check=True,
                          env=env)
    lines = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)
    return lines["access_key_id"], lines["secret_access_key"]


def _conf(port: int, users: dict[str, tuple[str, str]]) -> str:
    sections = [f"[DEFAULT]\nhost = 127.0.0.1\nport = {port}\nis_secure = False\n"
                "ssl_verify = False\n\n[fixtures]\nbucket prefix = sortie-{random}-\n"
                "iam name prefix = s3-tests-\niam path prefix = /s3-tests/\n"]
    for name in ("main", "alt", "tenant"):
        key, secret = users[name]
        sections.append(f"[s3 {name}]\ndisplay_name = {name}\nuser_id = {name}\n"
                        f"email = {name}@example.com\napi_name = default\naccess_key = {key}\n"
                        f"secret_key = {secret}\n" + ("tenant = tenant\n" if name == "tenant"
                                                      else ""))
    key, secret = users["main"]
    for name in ("iam", "iam root", "iam alt root"):
        sections.append(f"[{name}]\nemail = {name.replace(' ', '')}@example.com\n"
                        f"user_id = {name.replace(' ', '')}\naccess_key = {key}\n"
                        f"secret_key = {secret}\ndisplay_name = {name}\n")
    return "\n".join(sections)


def _scope() -> str:
    text = (SUITE / "SCOPE.md").read_text()
    match = re.search(r'^\s+SCOPE="(.+)"\s*$', text, re.MULTILINE)
    assert match, "SCOPE.md has no SCOPE= line"
    return match.group(1)


def _results(junit: Path) -> dict[str, str | None]:
    """test id -> None (passed) or the first line of its error."""
    out: dict[str, str | None] = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            continue
        out[name] = None if problem is None else (problem.get("message") or "failed")
    return out


#: What changes from run to run in an error message (ids, times, names): not part of a reason.
_VARYING = re.compile(r"sortie-[0-9a-z-]+|\d{4}-\d\d-\d\d[^,)']*|datetime\.datetime\([^)]*\)"
                      r"|0x[0-9a-f]+|\"[0-9a-f]{32,64}\"")


#: The reason from the test's name, where its topic says it (checked before the error's).
NAMED = [
    (r"::test_post_object_", "browser form uploads (POST Object, signed with Signature Version "
                             "2 in this suite): not served"),
    (r"object_lock", "object lock: not served"),
    (r"versioning|versioned", "versioning: Sortie keeps one version per key"),
    (r"_acl|::test_access_bucket_", "ACL grants: Sortie gives access by tokens and scopes, only "
                                    "the canned private ACL"),
    (r"::test_cors_", "ACL grants: these CORS tests start from a public-read bucket (CORS "
                      "itself is served)"),
    (r"get_part$", "reading one part of an object (partNumber): not served"),
    (r"_attributes$", "GetObjectAttributes: not served"),
    (r"cksum|checksum", "x-amz-checksum-* of multipart objects and CRC64NVME: not recorded"),
]


def _reason(message: str, name: str = "") -> str:
    for pattern, reason in NAMED:
        if re.search(pattern, name):
            return reason
    for pattern, reason in REASONS:
        if re.search(pattern, message):
            return reason
    return "differs from S3: " + _VARYING.sub("...", " ".join(message.split()))[:120]


def _backend(kind: str, work: Path) -> tuple[str, dict[str, str], object | None]:
    """The backend's settings (YAML), the environment they read, and the server to stop."""
    if kind == "local":
        return f"{{type: local, path: {work / 'main'}}}", {}, None
    sys.path.insert(0, str(ROOT))
    from tests.servers.azurite import start_azurite, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"s3-tests on Azurite: {reason}")
    (work / "azurite").mkdir()
    azurite = start_azurite(work / "azurite")
    return ("{type: azure, connection_string: '${S3TESTS_AZURE}'}",
            {"S3TESTS_AZURE": azurite.connection_string()}, azurite)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=sorted(EXPECTED), default="local")
    parser.add_argument("--update", action="store_true", help="rewrite the expected list")
    args = parser.parse_args()
    if not (SUITE / "s3tests").is_dir():
        # Not an error of Sortie's: said plainly, so that a run without the suite is not
        # mistaken for a pass.
        print(f"ceph s3-tests: the suite is not at {SUITE} (set S3_TESTS_DIR): NOT RUN")
        return 0
    python = _venv()
    expected_file = EXPECTED[args.backend]
    with tempfile.TemporaryDirectory(prefix="sortie-s3-tests-") as folder:
        work = Path(folder)
        suite = work / "suite"
        shutil.copytree(SUITE, suite)
        backend, env, backend_server = _backend(args.backend, work)
        config = work / "sortie.yaml"
        config.write_text(f"backends: {{main: {backend}}}\nstate_dir: {work / 'state'}\n")
        env = {**os.environ, **env}
        port, s3_port = _free_port(), _free_port()
        log = open(work / "serve.log", "wb")
        server = subprocess.Popen([*SORTIE, "serve", "--config", str(config), "--port",
                                   str(port), "--s3-port", str(s3_port)], stdout=log,
                                  stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 30
            while socket.socket().connect_ex(("127.0.0.1", s3_port)) != 0:
                if server.poll() is not None or time.monotonic() > deadline:
                    print((work / "serve.log").read_text()[-2000:], file=sys.stderr)
                    return 1
                time.sleep(0.2)
            users = {name: _credentials(config, env) for name in ("main", "alt", "tenant")}
            (work / "s3tests.conf").write_text(_conf(s3_port, users))
            junit = work / "junit.xml"
            subprocess.run([str(python), "-m", "pytest", "s3tests/functional/test_s3.py",
                            "s3tests/functional/test_headers.py", "-m", _scope(), "-q",
                            "-p", "no:cacheprovider", "--timeout", "60",
                            f"--junitxml={junit}"], cwd=suite,
                           env={**os.environ, "S3TEST_CONF": str(work / "s3tests.conf")},
                           stdout=subprocess.DEVNULL)
            results = _results(junit)
        finally:
            server.terminate()
            server.wait(15)
            log.close()
            if backend_server is not None:
                backend_server.process.stop()  # type: ignore[attr-defined]
    failed = {name: message for name, message in results.items() if message is not None}
    passed = len(results) - len(failed)
    print(f"ceph s3-tests on the {args.backend} backend: {passed} passed, {len(failed)} failed "
          f"of {len(results)}")
    if args.update:
        expected_file.write_text(f"# ceph s3-tests expected to fail on Sortie's S3 front "
                                 f"({args.backend} backend), with why; scripts/s3-tests.py "
                                 "compares each run.\n"
                                 + "".join(f"{name}\t{_reason(failed[name], name)}\n"
                                           for name in sorted(failed)))
        print(f"wrote {expected_file}")
        return 0
    expected = {line.split("\t", 1)[0] for line in expected_file.read_text().splitlines()
                if line and not line.startswith("#")}
    newly_failing = sorted(set(failed) - expected)
    now_passing = sorted(expected - set(failed))
    for name in newly_failing:
        print(f"UNEXPECTED FAILURE {name}: {failed[name][:200]}")
    for name in now_passing:
        print(f"NOW PASSES (take it off the list) {name}")
    return 1 if newly_failing or now_passing else 0


if __name__ == "__main__":
    sys.exit(main())
