"""Placement policies: named rule sets that say where a bucket's data may land, judged from the
provider facts the registry gives for a backend (each fact with its source).

    policies:
      health: {hds: required, eea_only: required, extraterritorial_exposure: encrypt}

A rule is `required` (the fact must hold), `forbidden` (it must not), or `encrypt` (where it does
not hold, the data may land only encrypted on the client side). A fact that is unknown does not
satisfy a rule, whatever the rule: unknown is never taken for yes.

What each rule reads:
- `hds`: the provider's HDS certification (`yes`; `partial`, an option of some offers, is not
  `yes`: the contract in hand must say so, in a preset of your own);
- `secnumcloud`: ANSSI SecNumCloud qualification (`qualified`);
- `eea_only`: the backend's region is among the provider's EEA regions;
- `extraterritorial_exposure`: a third-country law reaches the data (the US CLOUD Act, say);
  `forbidden` keeps data where none does (an empty list, known), `encrypt` lets it in encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .family import ProviderFacts

Requirement = Literal["required", "forbidden", "encrypt"]
#: How one rule judged one backend.
Verdict = Literal["pass", "fail", "unknown", "encrypt"]


class PlacementPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hds: Requirement | None = None
    secnumcloud: Requirement | None = None
    eea_only: Requirement | None = None
    extraterritorial_exposure: Requirement | None = None
    #: The key (a name in `keys:`) that encrypts the objects of this policy's buckets on the
    #: client side, which `encrypt` rules ask for; a bucket's own `encryption.key` prevails.
    key: str | None = None

    def rules(self) -> list[tuple[str, Requirement]]:
        return [(name, value) for name, value in self.model_dump(exclude={"key"}).items()
                if value is not None]


@dataclass(frozen=True)
class RuleResult:
    rule: str
    requirement: Requirement
    verdict: Verdict
    #: The fact as known (None: unknown) and where it comes from.
    fact: Any
    source: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "requirement": self.requirement, "verdict": self.verdict,
                "fact": self.fact, "source": self.source, "reason": self.reason}


@dataclass(frozen=True)
class Judgement:
    policy: str
    backend: str
    results: list[RuleResult]

    def allowed(self, encrypted: bool = False) -> bool:
        """Whether data may land there: every rule passes, or asks for encryption and gets it."""
        return all(r.verdict == "pass" or (r.verdict == "encrypt" and encrypted)
                   for r in self.results)

    def refusal(self, encrypted: bool = False) -> str:
        """Why data may not land there, naming each rule, the fact and its source."""
        failing = [r for r in self.results
                   if not (r.verdict == "pass" or (r.verdict == "encrypt" and encrypted))]
        return "; ".join(f"policy {self.policy!r} rule {r.rule}: {r.requirement}: {r.reason}"
                         f" (source: {r.source or 'none recorded'})" for r in failing)

    def as_dict(self, encrypted: bool = False) -> dict[str, Any]:
        return {"policy": self.policy, "backend": self.backend, "encrypted": encrypted,
                "allowed": self.allowed(encrypted), "rules": [r.as_dict() for r in self.results]}


#: Rules that name what a policy keeps data away from (`forbidden`: it must not hold).
_UNDESIRABLE = frozenset({"extraterritorial_exposure"})


def judge(policy_name: str, policy: PlacementPolicy, backend: str,
          facts: ProviderFacts) -> Judgement:
    return Judgement(policy_name, backend,
                     [_rule(name, requirement, facts) for name, requirement in policy.rules()])


def _rule(name: str, requirement: Requirement, facts: ProviderFacts) -> RuleResult:
    holds, fact, source, what = _fact(name, facts)
    if holds is None:
        return RuleResult(name, requirement, "unknown", fact, source,
                          f"{what} is unknown for {facts.title}; unknown does not satisfy a rule")
    # `encrypt` asks for the desirable side (HDS, SecNumCloud, EEA; no third-country law) and
    # lets the other side in encrypted only.
    wanted = {"required": True, "forbidden": False,
              "encrypt": name not in _UNDESIRABLE}[requirement]
    if holds == wanted:
        return RuleResult(name, requirement, "pass", fact, source, f"{what}: {fact!r}")
    if requirement == "encrypt":
        return RuleResult(name, requirement, "encrypt", fact, source,
                          f"{what}: {fact!r}, allowed only with client-side encryption "
                          "(the bucket's `encryption.key` or its policy's `key`)")
    return RuleResult(name, requirement, "fail", fact, source, f"{what}: {fact!r}")


def _fact(name: str, facts: ProviderFacts) -> tuple[bool | None, Any, str | None, str]:
    """(whether the rule's condition holds, None if unknown; the fact; its source; its name)."""
    c = facts.compliance
    if name == "hds":
        value = c.hds.value
        return (None if value is None else value == "yes"), value, c.hds.source, \
            "HDS certification"
    if name == "secnumcloud":
        value = c.secnumcloud.value
        return (None if value is None else value == "qualified"), value, \
            c.secnumcloud.source, "SecNumCloud qualification"
    if name == "eea_only":
        regions = c.eea_regions.value
        if regions is None or facts.region is None:
            return None, {"region": facts.region, "eea_regions": regions}, \
                c.eea_regions.source, "whether the region is in the EEA"
        return facts.region in regions, {"region": facts.region, "eea_regions": regions}, \
            c.eea_regions.source, f"region {facts.region!r} in the EEA regions"
    if name == "extraterritorial_exposure":
        laws = c.extraterritorial_exposure.value
        return (None if laws is None else bool(laws)), laws, \
            c.extraterritorial_exposure.source, "third-country laws reaching the data"
    raise ValueError(f"unknown rule {name!r}")
