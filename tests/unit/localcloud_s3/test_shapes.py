"""The pure parts of the S3 event shapes: key encoding and sequencers."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.s3_events import Sequencer, encode_key


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("in/a b.csv", "in/a+b.csv"),
        ("dt=2024-01-01/part 1.parquet", "dt%3D2024-01-01/part+1.parquet"),
        ("c++/notes (1).txt", "c%2B%2B/notes+%281%29.txt"),
        ("raw/14:03:40.zip", "raw/14%3A03%3A40.zip"),
        ("ünï/ß.txt", "%C3%BCn%C3%AF/%C3%9F.txt"),
    ],
)
def test_keys_are_encoded_as_s3_encodes_them(key: str, encoded: str) -> None:
    assert encode_key(key) == encoded


@given(st.text(min_size=1, max_size=64))
def test_unquote_plus_gives_the_key_back(key: str) -> None:
    assert unquote_plus(encode_key(key)) == key


def test_sequencers_are_fixed_width_hex_and_strictly_increasing() -> None:
    sequencer = Sequencer()

    values = [sequencer.next(1_700_000_000.5) for _ in range(3)] + [sequencer.next(1_700_000_001.0)]
    values.append(sequencer.next(1_600_000_000.0))  # a clock going back never reorders them

    assert values[0] == "006553F10000000000"  # epoch seconds, then a counter
    assert all(len(value) == 18 for value in values)
    assert values == sorted(values)
    assert len(set(values)) == len(values)
