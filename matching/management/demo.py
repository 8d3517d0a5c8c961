"""The demo tenant: real occupations from ESCO as vacancies and candidates, with plausible places and languages."""

import random
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from rules.models import ExclusionRule
from rules.services import Actor, create_rule
from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope
from tenants.services import ensure_member, ensure_tenant

from ..models import Kind
from ..reference_data import esco_occupations
from ..services import active_encoder_version, ensure_default_encoder, upsert_records
from ..services.talent_map import request_preparation

DEMO_USERNAME, DEMO_PASSWORD = "demo", "jobmatch-demo"
OCCUPATIONS, VACANCIES_PER_OCCUPATION, CANDIDATES_PER_OCCUPATION = 60, 3, 6
# (country, city, lat, lon, local language)
CITIES = [
    ("DE", "Berlin", 52.52, 13.405, "de"),
    ("DE", "Munich", 48.137, 11.575, "de"),
    ("FR", "Paris", 48.857, 2.352, "fr"),
    ("FR", "Lyon", 45.764, 4.836, "fr"),
    ("NL", "Amsterdam", 52.368, 4.904, "nl"),
    ("ES", "Madrid", 40.417, -3.704, "es"),
    ("GB", "London", 51.507, -0.128, "en"),
    ("IE", "Dublin", 53.35, -6.26, "en"),
    ("PL", "Warsaw", 52.23, 21.012, "pl"),
    ("IT", "Milan", 45.464, 9.19, "it"),
    ("PT", "Lisbon", 38.722, -9.139, "pt"),
    ("AT", "Vienna", 48.208, 16.373, "de"),
]
LEVELS = ["B1", "B2", "C1", "C2"]
# Always in the demo, so the README's examples and the exclusion-rule example (nurse vs veterinary nurse) work.
FEATURED = [
    "software developer",
    "web developer",
    "data scientist",
    "nurse responsible for general care",
    "specialist nurse",
    "veterinary nurse",
    "accountant",
    "sales assistant",
    "welder",
    "cook",
    "electrician",
    "mechanical engineer",
    "recruitment consultant",
    "warehouse worker",
]
SECOND_TEAM, SECOND_TEAM_SEED = ("north", "Northwind Staffing"), 11
# README's example: a search for nurses leaves out veterinary nurses (radii measured on the demo's texts). The
# human-nurse titles score 0.655 ("nurse responsible for general care") to 0.85 to "nurse", so a record query fires
# the rule by its title; veterinary titles score 0.66-0.72 too but are nearer "veterinary nurse", so they do not.
DEMO_RULE = {
    "name": "Nurses are not veterinary nurses",
    "trigger_text": "nurse",
    "trigger_radius": 0.65,
    "exclude_text": "veterinary nurse",
    "exclude_radius": 0.55,
    "note": "seeded with the demo",
}


def _first_sentences(text: str, limit: int = 420) -> str:
    cut = text[:limit]
    return cut[: cut.rfind(".") + 1] if "." in cut else cut


# Invented people: a name makes a shortlist readable; matching never sees it.
FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Daniel",
    "Elif",
    "Farah",
    "Gustav",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Marco",
    "Nora",
    "Omar",
    "Paula",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Zofia",
]
LAST_NAMES = [
    "Almeida",
    "Berger",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Horvat",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "O'Brien",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
SENIORITY_WORDS = ("senior", "junior", "lead", "chief", "head", "trainee", "apprentice", "principal", "assistant")


def _usable(label: str) -> bool:
    """An alternative label a posting or CV would use: not an acronym ("AB"), not a fragment."""
    return len(label) >= 4 and not label.isupper() and "/" not in label


def _capitalised(title: str) -> str:
    return title[:1].upper() + title[1:]


def _with_seniority(level: str, title: str) -> str:
    """'Senior ...' or 'Junior ...' as drawn, never on a title that already says its level."""
    if any(word in title.lower().split() for word in SENIORITY_WORDS):
        level = ""
    return f"{level}{title}" if level else _capitalised(title)


def _usable_title(words: random.Random, drawn: str, occupation) -> str:
    """The drawn label, or when a posting would not use it (an acronym), another of the occupation's labels."""
    if _usable(drawn):
        return drawn
    return words.choice([label for label in occupation.alt_labels if _usable(label)] or [occupation.label])


def _years(n: int) -> str:
    return f"{n} year{'s' if n != 1 else ''}"


def _languages(rng: random.Random, local: str) -> dict[str, str]:
    languages = {local: "C2"}
    if local != "en":
        languages["en"] = rng.choice(LEVELS)
    if rng.random() < 0.3:
        languages[rng.choice(["de", "fr", "es", "it"])] = rng.choice(LEVELS[:3])
    return languages


def _place(rng: random.Random) -> dict:
    country, city, lat, lon, local = rng.choice(CITIES)
    return {"country": country, "city": city, "latitude": lat, "longitude": lon, "_local": local}


def demo_rows(*, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """Deterministic vacancies and candidates: several of each per occupation, so neighbours are meaningful."""
    rng = random.Random(seed)
    occupations = sorted((o for o in esco_occupations() if len(o.alt_labels) >= 3), key=lambda o: o.uri)
    featured = [o for o in occupations if o.label in FEATURED]
    others = [o for o in occupations if o.label not in FEATURED]
    chosen = featured + rng.sample(others, OCCUPATIONS - len(featured))
    # `rng` draws exactly what it drew before the texts were reworded, so the demo's rows keep their places,
    # languages and ids (V-007-0 stays a Warsaw vacancy needing Polish C1); `words` draws the new choices.
    words = random.Random(seed + 1)
    vacancies, candidates = [], []
    for number, occupation in enumerate(chosen):
        for i in range(VACANCIES_PER_OCCUPATION):
            place = _place(rng)
            title = occupation.label if i == 0 else _usable_title(words, rng.choice(occupation.alt_labels), occupation)
            title = _with_seniority(rng.choice(["", "", "Senior ", "Junior "]), title)
            languages = {place["_local"]: rng.choice(["B2", "C1"])} | ({"en": "B2"} if rng.random() < 0.5 else {})
            contract = rng.choice(["permanent", "temporary", "freelance"])
            vacancies.append(
                {
                    "external_id": f"V-{number:03d}-{i}",
                    "title": title[:300],
                    "description": f"We are hiring in {place['city']} ({contract}). "
                    + _first_sentences(occupation.description),
                    "country": place["country"],
                    "city": place["city"],
                    "latitude": place["latitude"],
                    "longitude": place["longitude"],
                    "languages": languages,
                    "custom_fields": {
                        "contract": contract,
                        "remote": rng.choice(["yes", "no"]),
                        "occupation_group": occupation.major_group,
                    },
                }
            )
        for i in range(CANDIDATES_PER_OCCUPATION):
            place = _place(rng)
            title = _usable_title(words, rng.choice(occupation.alt_labels), occupation)
            years = rng.randint(1, 20)
            candidates.append(
                {
                    "external_id": f"C-{number:03d}-{i}",
                    "title": _capitalised(title)[:300],
                    "description": f"{_years(years)} of experience as {title}, based in {place['city']}. "
                    + _first_sentences(occupation.description, 260),
                    "country": place["country"],
                    "city": place["city"],
                    "latitude": place["latitude"],
                    "longitude": place["longitude"],
                    "languages": _languages(rng, place["_local"]),
                    "display_name": f"{words.choice(FIRST_NAMES)} {words.choice(LAST_NAMES)}",
                    "contact": f"c-{number:03d}-{i}@example.org",
                    "custom_fields": {
                        "seniority": "senior" if years >= 8 else "mid" if years >= 3 else "junior",
                        "remote": rng.choice(["yes", "no"]),
                        "occupation_group": occupation.major_group,
                    },
                }
            )
    return vacancies, candidates


@dataclass(frozen=True)
class DemoReport:
    tenant: Tenant
    username: str
    password: str
    vacancies: int
    candidates: int


def _seed_second_team(*, user: User, slug: str, name: str) -> Tenant:
    """A small second tenant the demo user recruits for, so the team switcher and tenant isolation show."""
    vacancies, candidates = demo_rows(seed=SECOND_TEAM_SEED)
    tenant = ensure_tenant(slug=slug, name=name, encoder=ensure_default_encoder())
    ensure_member(tenant=tenant, user=user, role=Membership.Role.RECRUITER)
    with tenant_scope(tenant.id):
        upsert_records(
            tenant=tenant,
            kind=Kind.VACANCIES,
            rows=[v | {"external_id": f"N{v['external_id']}"} for v in vacancies[::9]],
        )
        upsert_records(
            tenant=tenant,
            kind=Kind.CANDIDATES,
            rows=[c | {"external_id": f"N{c['external_id']}"} for c in candidates[::9]],
        )
    return tenant


def seed_demo(*, slug: str = "demo") -> DemoReport:
    """Create or refresh the demo tenant; running it again changes nothing and re-encodes nothing."""
    vacancies, candidates = demo_rows()
    with transaction.atomic():
        tenant = ensure_tenant(slug=slug, name=f"{slug.title()} Recruiting", encoder=ensure_default_encoder())
        user, _ = User.objects.get_or_create(username=DEMO_USERNAME if slug == "demo" else f"{slug}-demo")
        if not user.check_password(DEMO_PASSWORD) or not user.is_staff:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = True  # a tenant admin manages exclusion rules in Django admin
            user.save()
        ensure_member(tenant=tenant, user=user, role=Membership.Role.ADMIN)
        with tenant_scope(tenant.id):
            upsert_records(tenant=tenant, kind=Kind.VACANCIES, rows=vacancies)
            upsert_records(tenant=tenant, kind=Kind.CANDIDATES, rows=candidates)
            if not ExclusionRule.objects.filter(tenant=tenant, name=DEMO_RULE["name"]).exists():
                create_rule(tenant=tenant, data=DEMO_RULE, actor=Actor(name="seed_demo"))
        _seed_second_team(user=user, slug=f"{slug}-{SECOND_TEAM[0]}", name=SECOND_TEAM[1])
        request_preparation(active_encoder_version(tenant=tenant))  # the map is ready by the first visit
    return DemoReport(
        tenant=tenant,
        username=user.username,
        password=DEMO_PASSWORD,
        vacancies=len(vacancies),
        candidates=len(candidates),
    )
