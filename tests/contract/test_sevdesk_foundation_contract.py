"""The foundation calls and generic list reads send requests that sevDesk's spec accepts."""

from __future__ import annotations

import pytest

from tests.contract.spec_recorder import SpecRecorder

pytestmark = pytest.mark.contract


def test_bookkeeping_system_version(spec_recorder: SpecRecorder) -> None:
    spec_recorder.answer({"version": "2.0"})

    assert spec_recorder.client().bookkeeping_system_version() == "2.0"

    spec_recorder.assert_all_valid()


def test_current_user(spec_recorder: SpecRecorder) -> None:
    spec_recorder.answer([{"id": "1", "fullname": "Erika Mustermann", "sevClient": {"id": "2", "name": "X"}}])

    assert spec_recorder.client().current_user().id == "1"

    spec_recorder.assert_all_valid()


def test_paged_contact_list_with_embed(spec_recorder: SpecRecorder) -> None:
    spec_recorder.answer([{"id": str(i)} for i in range(50)]).answer([{"id": "50"}])

    rows = list(
        spec_recorder.client().iter_pages(
            "/Contact",
            {"depth": "1", "embed": ["addresses", "communicationWays"], "countAll": True},
            page_size=50,
        )
    )

    assert len(rows) == 51
    assert len(spec_recorder.requests) == 2
    spec_recorder.assert_all_valid()


def test_bracket_filters(spec_recorder: SpecRecorder) -> None:
    client = spec_recorder.client()

    client.get("/Invoice", {"contact[id]": 5, "contact[objectName]": "Contact", "status": 100, "embed": ["contact"]})
    client.get("/CommunicationWay", {"contact": {"id": 5, "objectName": "Contact"}, "type": "EMAIL", "main": "1"})
    client.get("/Order", {"contact": {"id": 5, "objectName": "Contact"}, "limit": 10, "offset": 20})
    list(client.iter_pages("/ContactAddress", page_size=100))

    spec_recorder.assert_all_valid()


def test_get_by_id(spec_recorder: SpecRecorder) -> None:
    spec_recorder.answer([{"id": "5", "objectName": "Contact"}])
    assert spec_recorder.client().get_one("/Contact/5", {"embed": ["category"]}) == {
        "id": "5",
        "objectName": "Contact",
    }
    spec_recorder.assert_all_valid()


def test_undocumented_reference_data_paths(spec_recorder: SpecRecorder) -> None:
    client = spec_recorder.client()
    client.get("/Unity", {"limit": 500})
    client.get("/StaticCountry", {"code": "de"})
    client.get("/Category?objectType=ContactAddress")
    spec_recorder.assert_all_valid()  # header checks only: listed in spec_deviations.UNDOCUMENTED_PATHS
