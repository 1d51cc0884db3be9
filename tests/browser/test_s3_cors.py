"""A web application in a real Chromium, served from its own origin, uploads to and reads from
the S3 front with presigned URLs: the browser's CORS preflight and checks pass with the bucket's
rules, and fail without them (the browser then refuses the answer)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.s3api.test_clients import Front

PAGE = b"""<!doctype html><html><body><pre id="out">running</pre><script>
async function run(put, get) {
  const out = document.getElementById("out");
  try {
    const sent = await fetch(put, {method: "PUT", body: "DICM from the viewer",
                                   headers: {"Content-Type": "application/dicom"}});
    const etag = sent.headers.get("ETag");
    const got = await fetch(get);
    out.textContent = "ok " + sent.status + " " + (etag ? "etag" : "no-etag") + " " +
                      (await got.text());
  } catch (error) {
    out.textContent = "refused " + error.name;
  }
}
</script></body></html>"""


@pytest.fixture
def web_origin() -> Iterator[str]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_browser_uploads_through_presigned_urls(browser: Any, web_origin: str,
                                                  tmp_path: Path) -> None:
    front = Front(tmp_path)
    try:
        access, secret, _ = front.credentials("--scope", "admin")
        s3 = front.client(access, secret, signature_version="s3v4")
        s3.create_bucket(Bucket="viewer")

        def attempt(key: str) -> str:
            put = s3.generate_presigned_url("put_object", ExpiresIn=60, Params={
                "Bucket": "viewer", "Key": key, "ContentType": "application/dicom"})
            get = s3.generate_presigned_url("get_object", ExpiresIn=60,
                                            Params={"Bucket": "viewer", "Key": key})
            page = browser.new_page()
            try:
                page.goto(web_origin)
                page.evaluate("([put, get]) => run(put, get)", [put, get])
                page.wait_for_function("document.getElementById('out').textContent "
                                       "!== 'running'", timeout=15000)
                return str(page.text_content("#out"))
            finally:
                page.close()

        assert attempt("no-rules.dcm") == "refused TypeError"  # no CORS rule: refused
        s3.put_bucket_cors(Bucket="viewer", CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": [web_origin],
             "AllowedHeaders": ["content-type"], "ExposeHeaders": ["ETag"]}]})
        assert attempt("scan.dcm") == "ok 200 etag DICM from the viewer"
        assert s3.head_object(Bucket="viewer", Key="scan.dcm")["ContentType"] == \
            "application/dicom"
    finally:
        front.stop()
