"""Match lists page on ("show more", up to the API's maximum k) and sort by similarity, distance or title; the lists
sort too and show when each row was updated (#18)."""

import pytest

from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db
CITIES = [("Berlin", 52.52, 13.405), ("Munich", 48.137, 11.575), ("Hamburg", 53.55, 9.99)]


@pytest.fixture
def job_and_people(acme):
    job = vacancy(acme, "Welder", external_id="V-1", latitude=52.52, longitude=13.405)
    for i in range(12):
        city, lat, lon = CITIES[i % 3]
        candidate(acme, f"Welder {i}", external_id=f"C-{i:02d}", city=city, latitude=lat, longitude=lon)
    return job


def _ids(response) -> list[str]:
    return [hit["match"].record.external_id for hit in response.context["hits"]]


def test_ten_matches_then_show_more_up_to_the_maximum(acme, acme_admin, job_and_people):
    first = acme_admin.get(f"/vacancies/{job_and_people.pk}/")
    assert len(_ids(first)) == 10 and 'id="show-more"' in first.content.decode()
    more = acme_admin.get(f"/vacancies/{job_and_people.pk}/matches/", {"k": 20})
    assert len(_ids(more)) == 12 and 'id="show-more"' not in more.content.decode()
    capped = acme_admin.get(f"/vacancies/{job_and_people.pk}/matches/", {"k": 100000})
    assert capped.status_code == 200 and capped.context["k"] == 100


def test_matches_sort_by_distance_nearest_first(acme, acme_admin, job_and_people):
    response = acme_admin.get(f"/vacancies/{job_and_people.pk}/matches/", {"k": 20, "sort": "distance"})
    km = [hit["km"] for hit in response.context["hits"]]
    assert km == sorted(km) and km[0] == pytest.approx(0, abs=0.01)
    assert "km away" in response.content.decode()


def test_matches_sort_by_title(acme, acme_admin, job_and_people):
    response = acme_admin.get(f"/vacancies/{job_and_people.pk}/matches/", {"k": 20, "sort": "title"})
    titles = [hit["match"].record.title for hit in response.context["hits"]]
    assert titles == sorted(titles, key=str.casefold)


def test_the_list_sorts_by_title_and_shows_when_each_row_was_updated(acme, acme_admin):
    for title in ("Cook", "Baker", "Welder"):
        vacancy(acme, title, external_id=f"V-{title}", encode=False)
    response = acme_admin.get("/vacancies/", {"sort": "title"})
    assert [r.title for r in response.context["page"]] == ["Baker", "Cook", "Welder"]
    assert ">updated</th>" in response.content.decode()
