"""Transfer ids name their document (docs/ledger.md, "Items"): a current transfer may have no item, and
its id alone leads to its pointer. The event stem rule and creation-time order are kept."""

from __future__ import annotations

import re

import pytest

from sevbridge.domain.ledger import (
    TRANSFER_ID_PATTERN,
    TransferKind,
    document_of,
    event_transfer_id,
    new_transfer_id,
    short_id,
    stem_of,
    with_stem,
)


@pytest.mark.parametrize("kind", list(TransferKind))
@pytest.mark.parametrize("source_id", ["inv-1", "a", "ü/ß?#.=", "🐶" * 128, "x" * 128, "--__"])
def test_an_id_names_its_document_and_keeps_the_stem_rule(kind: TransferKind, source_id: str) -> None:
    stem = new_transfer_id()
    transfer_id = event_transfer_id(stem, 7, kind, source_id)
    assert re.fullmatch(TRANSFER_ID_PATTERN, transfer_id)
    document = document_of(transfer_id)
    assert document is not None and (document.kind, document.source_id) == (kind, source_id)
    assert stem_of(transfer_id) == stem
    other = new_transfer_id()
    assert with_stem(transfer_id, other) == event_transfer_id(other, 7, kind, source_id)
    # DynamoDB: a sort key (TRANSFER#<id>, and gsi1sk = the id) is at most 1024 bytes.
    assert len(f"TRANSFER#{transfer_id}".encode()) <= 1024


def test_ids_sort_by_creation_then_position_whatever_the_document() -> None:
    first, second = new_transfer_id(), new_transfer_id()
    ids = [
        event_transfer_id(first, 0, TransferKind.CONTACT, "zzz"),
        event_transfer_id(first, 1, TransferKind.INVOICE, "a"),
        event_transfer_id(first, 2, TransferKind.INVOICE, "0" * 128),
        event_transfer_id(second, 0, TransferKind.CONTACT, "a"),
    ]
    assert sorted(ids) == ids


@pytest.mark.parametrize(
    "suffix",
    [
        "",  # made before ids named their document
        ".",  # nothing after the dot
        ".i",  # a kind and no source id
        ".xaW52",  # no such kind
        ".iYR",  # stray bits: not the canonical encoding of anything
        ".iYQ==",  # padding: not the canonical spelling
        ".i_w",  # not UTF-8
        ".ia+b",  # not base64url
        ".i" + "A" * 700,  # longer than any source id
    ],
)
def test_an_id_that_names_no_document(suffix: str) -> None:
    assert document_of(f"{new_transfer_id()}00{suffix}") is None


def test_the_short_id_is_unique_per_transfer_and_fits_sqs_deduplication() -> None:
    stem = new_transfer_id()
    ids = [event_transfer_id(stem, n, TransferKind.INVOICE, "🐶" * 128) for n in range(3)]
    assert len({short_id(i) for i in ids}) == 3
    assert all(len(f"{short_id(i)}.{9999}") <= 128 for i in ids)
