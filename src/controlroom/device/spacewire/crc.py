"""The CRC-8 of RMAP (ECSS-E-ST-50-52C): one for the header, one for the data.

The standard's generator polynomial is x^8 + x^2 + x + 1 (0x07), initial value
0, no final XOR. SpaceWire sends each byte least significant bit first and the
standard defines the CRC on the bits in transmission order, so on the bytes as
stored the register shifts right with the reflected polynomial 0xE0: this is
the "reflected" CRC-8 with polynomial 0x07 (refin = refout = true), whose table
starts 0x00, 0x91, 0xE3, 0x72 as printed in the standard.

Property used when checking: a header or data field followed by its own CRC
byte has a CRC of 0 (the residue), so a check is ``rmap_crc8(field + crc) == 0``
and needs no slicing off of the last byte.
"""

from __future__ import annotations

BytesLike = bytes | bytearray | memoryview

_REFLECTED_POLYNOMIAL = 0xE0  # 0x07 with its bits in transmission order


def _make_table() -> bytes:
    """The CRC of every single byte with a zero register: one lookup per byte later."""
    table = bytearray(256)
    for value in range(256):
        crc = value
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED_POLYNOMIAL if crc & 1 else crc >> 1
        table[value] = crc
    return bytes(table)


CRC8_TABLE = _make_table()


def rmap_crc8(data: BytesLike, crc: int = 0) -> int:
    """The RMAP CRC-8 of ``data``, continuing from ``crc`` (0 starts a new field).

    ``rmap_crc8(b, rmap_crc8(a)) == rmap_crc8(a + b)``: a field can be fed in pieces.
    """
    if not 0 <= crc <= 0xFF:
        raise ValueError(f"a CRC-8 register holds 0..255, not {crc}")
    table = CRC8_TABLE
    for byte in memoryview(data).cast("B") if isinstance(data, memoryview) else data:
        crc = table[crc ^ byte]
    return crc
