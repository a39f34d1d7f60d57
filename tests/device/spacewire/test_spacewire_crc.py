"""The RMAP CRC-8 against the standard's vectors and an independent bitwise model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rmap_vectors import DATA_0, DATA_2, READ_1, READ_3, WRITE_0, WRITE_2

from controlroom.device.spacewire.crc import CRC8_TABLE, rmap_crc8


def lfsr_crc8(data: bytes, crc: int = 0) -> int:
    """The standard's hardware description, bit by bit: no table, no reflected polynomial.

    The register holds the CRC with its bits reversed (index = power of x);
    each data bit, least significant first, is fed in against x^8 + x^2 + x + 1.
    """
    register = [(crc >> (7 - i)) & 1 for i in range(8)]  # register[k]: coefficient of x^k
    for byte in data:
        for j in range(8):
            feedback = ((byte >> j) & 1) ^ register[7]
            register = [
                feedback,
                feedback ^ register[0],
                feedback ^ register[1],
                *register[2:7],
            ]
    return sum(register[k] << (7 - k) for k in range(8))


def test_table_is_the_one_printed_in_the_standard() -> None:
    assert CRC8_TABLE[:8] == bytes.fromhex("0091e372 0796e475")
    assert CRC8_TABLE[0xF8:] == bytes.fromhex("ba2b59c8bd2c5ecf")
    assert len(set(CRC8_TABLE)) == 256  # a permutation: no two bytes collide


@pytest.mark.parametrize(
    ("field", "crc"),
    [
        (WRITE_0[:15], 0x9F),
        (READ_1[:15], 0xC9),
        (WRITE_2[:23], 0x7F),
        (READ_3[:19], 0xF7),
        (DATA_0, 0x56),
        (DATA_2, 0xB4),
        (bytes.fromhex("67012c00fe0000"), 0xED),
    ],
)
def test_standard_vectors(field: bytes, crc: int) -> None:
    assert rmap_crc8(field) == crc
    assert lfsr_crc8(field) == crc


@given(st.binary(max_size=300))
def test_table_agrees_with_the_bitwise_model(data: bytes) -> None:
    assert rmap_crc8(data) == lfsr_crc8(data)


@given(st.binary(max_size=100), st.binary(max_size=100))
def test_a_field_can_be_fed_in_pieces(first: bytes, second: bytes) -> None:
    assert rmap_crc8(second, rmap_crc8(first)) == rmap_crc8(first + second)


@given(st.binary(max_size=200))
def test_a_field_followed_by_its_crc_leaves_zero(data: bytes) -> None:
    assert rmap_crc8(data + bytes((rmap_crc8(data),))) == 0


def test_takes_bytes_bytearray_and_views() -> None:
    packet = bytearray(WRITE_0)
    assert rmap_crc8(memoryview(packet)[:15]) == rmap_crc8(bytes(packet[:15])) == 0x9F


def test_refuses_a_register_value_beyond_a_byte() -> None:
    with pytest.raises(ValueError, match=r"0\.\.255"):
        rmap_crc8(b"\x01", 256)
