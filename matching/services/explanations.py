"""Why a hit is there: its requirements met and missed, distance, the rules that fired, the threshold, a grade.

Grades cross the two calibrated numbers a hit has, each cut at its own decision point, so no band is a tuned
constant:
- the threshold in use (the tenant's best-F1 fit, else the version's global fit for the query's shape): at or
  above it the similarity says "match";
- the confidence (a probability fitted per encoder version, services/confidence.py): at or above 1/2 the hit is
  more likely right than wrong.
strong = both say yes; possible = the threshold says yes, the confidence does not (or there is none); weak = the
confidence says yes, the threshold does not; below = neither. Without a threshold, possible / weak by confidence.
"""

from dataclasses import dataclass, field

from .requirements import RequirementCheck

GRADES = ("strong", "possible", "weak", "below")
LIKELY = 0.5  # a calibrated probability's own decision point: more likely right than wrong


def grade(*, score: float, threshold: float | None, confidence: float | None) -> str:
    likely = confidence is not None and confidence >= LIKELY
    if threshold is None:
        return "possible" if likely else "weak"
    if score >= threshold:
        return "strong" if likely else "possible"
    return "weak" if likely else "below"


@dataclass(frozen=True)
class Explanation:
    requirements: list[RequirementCheck] = field(default_factory=list)
    distance_km: float | None = None  # between the two records, when both have coordinates
    rules: list[str] = field(default_factory=list)  # exclusion rules the query fired (their rows are left out)
    threshold: float | None = None
    threshold_source: str | None = None  # "tenant", "global (record)", "global (text)"
    penalty: float = 0.0  # subtracted from the similarity for unmet requirements (requirements=rank only)
    # The labels of the top-3 ESCO occupations the hit shares with the query record (services/normalization.py);
    # None for free text or while the query's are not stored yet, and then left out of the JSON.
    occupations: list[str] | None = None
    # The dense cosine alone: the similarity shown is the fused score (services/search.py, README "Search").
    dense_similarity: float | None = None

    @property
    def unmet(self) -> int:
        return sum(1 for check in self.requirements if not check.met)

    def as_dict(self) -> dict:
        """The JSON of the API's `explanation`; by hand, as dataclasses.asdict's deep copy cost a search ~1 ms."""
        payload = {
            "requirements": [
                {"requirement": c.requirement, "wanted": c.wanted, "have": c.have, "met": c.met}
                for c in self.requirements
            ],
            "distance_km": self.distance_km,
            "rules": list(self.rules),
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "penalty": self.penalty,
            "dense_similarity": self.dense_similarity,
        }
        if self.occupations is not None:
            payload["occupations"] = list(self.occupations)
        return payload

    def summary(self) -> str:
        """One line for the UI: missed requirements first, then the rest."""
        missed = [f"{c.requirement}: wants {c.wanted}, has {c.have}" for c in self.requirements if not c.met]
        met = [c.requirement for c in self.requirements if c.met]
        parts = []
        if missed:
            parts.append("misses " + "; ".join(missed))
        if met:
            parts.append("meets " + ", ".join(met))
        if self.distance_km is not None:
            parts.append(f"{self.distance_km:,.0f} km away")
        if self.rules:
            parts.append("rules fired: " + ", ".join(self.rules))
        return "; ".join(parts) or "no requirements"
