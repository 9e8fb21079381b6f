"""How a chunk's documents are split into lanes that run side by side: documents sharing a customer or
being the same document never end up in two lanes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sevbridge.domain.backfill.worker import Runnable, _lanes


def _doc(line: int, source_id: str, customer: str) -> Runnable:
    return Runnable(
        line=line,
        source_id=source_id,
        transfer_ids=[f"tr_{line}"],
        keys=frozenset({f"Invoice:{source_id}", f"Contact:{customer}"}),
    )


def test_documents_of_one_customer_share_a_lane_and_keep_their_order() -> None:
    docs = [_doc(n, f"inv-{n}", f"c-{n % 4}") for n in range(1, 21)]
    lanes = _lanes(docs, 2)
    assert len(lanes) == 2 and sum(map(len, lanes)) == 20
    for lane in lanes:
        assert [d.line for d in lane] == sorted(d.line for d in lane)
    customers = [{next(k for k in d.keys if k.startswith("Contact:")) for d in lane} for lane in lanes]
    assert not customers[0] & customers[1]


def test_a_document_linking_two_lanes_makes_the_chunk_serial() -> None:
    docs = [_doc(1, "inv-1", "a"), _doc(2, "inv-2", "b"), _doc(3, "inv-1", "b")]  # inv-1 again, now for b
    assert _lanes(docs, 2) == [docs]


def test_one_lane_or_one_document_runs_as_it_came() -> None:
    docs = [_doc(1, "inv-1", "a"), _doc(2, "inv-2", "b")]
    assert _lanes(docs, 1) == [docs]
    assert _lanes(docs[:1], 3) == [docs[:1]]
    assert _lanes([], 3) == []


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 5)), max_size=60), st.integers(1, 4))
def test_no_key_is_in_two_lanes_and_nothing_is_lost(pairs: list[tuple[int, int]], lanes: int) -> None:
    docs = [_doc(n, f"inv-{s}", f"c-{c}") for n, (s, c) in enumerate(pairs)]
    split = _lanes(docs, lanes)
    assert sorted(d.line for lane in split for d in lane) == list(range(len(docs)))
    assert len(split) <= lanes
    owners: dict[str, int] = {}
    for index, lane in enumerate(split):
        for d in lane:
            for key in d.keys:
                assert owners.setdefault(key, index) == index
