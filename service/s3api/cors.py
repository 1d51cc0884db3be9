"""CORS for the S3 front, as S3 does it: a bucket's rules (PutBucketCors), answered to a browser's
preflight (OPTIONS, unsigned: browsers do not sign it) and added to the answers of its actual
requests. A web application can then upload and read through presigned URLs from its own origin.

A rule matches an origin when one of its AllowedOrigin patterns does (at most one `*`, standing
for any characters) and the method when it is among its AllowedMethod; a preflight also needs
every header it announces to match an AllowedHeader pattern. The first matching rule answers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Mapping

from . import xml
from .errors import S3Error

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100


@dataclass(frozen=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None

    def allows(self, origin: str, method: str) -> bool:
        return method in self.methods and any(_wild(p, origin) for p in self.origins)

    def allows_headers(self, names: list[str]) -> bool:
        return all(any(_wild(p.lower(), n) for p in self.headers) for n in names)


def parse(body: bytes) -> list[CorsRule]:
    """The rules of a CORSConfiguration document; MalformedXML or InvalidRequest if it is not
    one S3 would take."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error("MalformedXML", "the CORSConfiguration document is not XML", 400) from None
    rules = []
    for item in root.iterfind("{*}CORSRule"):
        def texts(name: str) -> tuple[str, ...]:
            return tuple((e.text or "").strip() for e in item.iterfind("{*}" + name))

        methods, origins = texts("AllowedMethod"), texts("AllowedOrigin")
        if not methods or not origins:
            raise S3Error("MalformedXML", "a CORSRule needs an AllowedMethod and an "
                                          "AllowedOrigin", 400)
        wrong = [m for m in methods if m not in METHODS]
        if wrong:
            raise S3Error("InvalidRequest", f"Found unsupported HTTP method in CORS config. "
                                            f"Unsupported method is {wrong[0]}", 400)
        if any(p.count("*") > 1 for p in origins + texts("AllowedHeader")):
            raise S3Error("InvalidRequest", "an AllowedOrigin or AllowedHeader can have at most "
                                            "one * wildcard", 400)
        age = (item.findtext("{*}MaxAgeSeconds") or "").strip()
        if age and not age.isdigit():
            raise S3Error("MalformedXML", "MaxAgeSeconds is a number of seconds", 400)
        rules.append(CorsRule(origins, methods, texts("AllowedHeader"), texts("ExposeHeader"),
                              int(age) if age else None,
                              (item.findtext("{*}ID") or "").strip() or None))
    if not rules or len(rules) > MAX_RULES:
        raise S3Error("MalformedXML", f"a CORSConfiguration has 1 to {MAX_RULES} CORSRule",
                      400)
    return rules


def document(rules: list[CorsRule]) -> bytes:
    body = ""
    for rule in rules:
        body += "<CORSRule>" + (xml.element("ID", rule.id) if rule.id else "")
        body += "".join(xml.element("AllowedMethod", m) for m in rule.methods)
        body += "".join(xml.element("AllowedOrigin", o) for o in rule.origins)
        body += "".join(xml.element("AllowedHeader", h) for h in rule.headers)
        body += "".join(xml.element("ExposeHeader", h) for h in rule.expose)
        if rule.max_age is not None:
            body += xml.element("MaxAgeSeconds", rule.max_age)
        body += "</CORSRule>"
    return xml.document("CORSConfiguration", body)


def preflight(rules: list[CorsRule], headers: Mapping[str, str]) -> dict[str, str]:
    """The answer to an OPTIONS request: its headers, or S3Error (400 when it is not a
    preflight, 403 when no rule allows it)."""
    origin = headers.get("origin")
    method = headers.get("access-control-request-method")
    if not origin or not method:
        raise S3Error("BadRequest", "a CORS preflight sends Origin and "
                                    "Access-Control-Request-Method", 400)
    asked = [n.strip().lower() for n in headers.get("access-control-request-headers",
                                                     "").split(",") if n.strip()]
    for rule in rules:
        if rule.allows(origin, method) and rule.allows_headers(asked):
            answer = _allowed(rule, origin)
            if asked:
                answer["Access-Control-Allow-Headers"] = ", ".join(asked)
            if rule.max_age is not None:
                answer["Access-Control-Max-Age"] = str(rule.max_age)
            return answer
    raise S3Error("AccessForbidden", "CORSResponse: This CORS request is not allowed. This is "
                                     "usually because the evalution of Origin, request method "
                                     "/ Access-Control-Request-Method or Access-Control-Request-"
                                     "Headers are not whitelisted by the resource's CORS spec.",
                  403)


def response_headers(rules: list[CorsRule], headers: Mapping[str, str],
                     method: str) -> dict[str, str]:
    """The CORS headers of an actual request's answer (none when no rule allows it)."""
    origin = headers.get("origin")
    if not origin:
        return {}
    method = headers.get("access-control-request-method", method)
    for rule in rules:
        if rule.allows(origin, method):
            answer = _allowed(rule, origin)
            if rule.expose:
                answer["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
            return answer
    return {}


def _allowed(rule: CorsRule, origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*" if rule.origins == ("*",) else origin,
            "Access-Control-Allow-Methods": ", ".join(rule.methods), "Vary": "Origin"}


def _wild(pattern: str, value: str) -> bool:
    if "*" not in pattern:
        return pattern == value
    head, tail = pattern.split("*", 1)
    return len(value) >= len(head) + len(tail) and value.startswith(head) \
        and value.endswith(tail)
