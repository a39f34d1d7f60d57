"""The RMAP test patterns printed in ECSS-E-ST-50-52C (5 February 2010), annex A.

Each pattern starts at its target or initiator logical address: the leading
SpaceWire path address bytes of patterns 2 and 3 are left out, as a router
strips them before the packet arrives. Cross-checked against two public
implementations of the standard (a C library's test patterns and table, and
the standard's own VHDL LFSR).
"""

from __future__ import annotations

DATA_0 = bytes.fromhex("0123456789abcdef1011121314151617")
DATA_2 = bytes(range(0xA0, 0xB0))

# bytes.fromhex skips spaces: they separate the fields.
# Pattern 0: non-verified incrementing write with reply, and its reply.
WRITE_0 = bytes.fromhex("fe016c00 67 0000 00 a0000000 000010 9f") + DATA_0 + b"\x56"
WRITE_REPLY_0 = bytes.fromhex("67012c00fe0000ed")
# Pattern 1: incrementing read, and its reply.
READ_1 = bytes.fromhex("fe014c00 67 0001 00 a0000000 000010 c9")
READ_REPLY_1 = bytes.fromhex("67010c00 fe 0001 00 000010 6d") + DATA_0 + b"\x56"
# Pattern 2: the write of pattern 0 with an 8-byte reply address (7 bytes, padded).
WRITE_2 = (
    bytes.fromhex("fe016e00 0099aabbccddee00 67 0002 00 a0000010 000010 7f") + DATA_2 + b"\xb4"
)
WRITE_REPLY_2 = bytes.fromhex("67012e00fe00021d")
# Pattern 3: the read of pattern 1 with a 4-byte reply address.
READ_3 = bytes.fromhex("fe014d00 99aabbcc 67 0003 00 a0000010 000010 f7")
READ_REPLY_3 = bytes.fromhex("67010d00 fe 0003 00 000010 52") + DATA_2 + b"\xb4"

ALL = {
    "write 0": WRITE_0,
    "write reply 0": WRITE_REPLY_0,
    "read 1": READ_1,
    "read reply 1": READ_REPLY_1,
    "write 2": WRITE_2,
    "write reply 2": WRITE_REPLY_2,
    "read 3": READ_3,
    "read reply 3": READ_REPLY_3,
}
