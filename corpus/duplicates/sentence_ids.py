"""The sentence ids of many rows in 10 bytes each instead of an Arrow string's ~25.

Split's ids are ``s`` and 20 lower-case hex digits (``corpus.storage.tables.
sentence_id_for``): 80 bits, kept as a 64-bit high part and a 16-bit low part whose
order is the ids' string order (ASCII ``0-9`` sorts before ``a-f``). Ids of any other
form (an older or a hand-made table) are kept as strings, so nothing depends on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U64 = npt.NDArray[np.uint64]
U16 = npt.NDArray[np.uint16]
Index = npt.NDArray[Any]

WIDTH = 21
"""Characters of a packed id: the prefix and ``HIGH + LOW`` hex digits."""
PREFIX = ord("s")
HIGH, LOW = 16, 4
_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_VALUE = np.full(256, 255, dtype=np.uint8)
_VALUE[_DIGITS] = np.arange(16, dtype=np.uint8)


def pack(ids: pa.Array) -> tuple[U64, U16] | None:
    """``(high, low)`` of every id, or None when any id is not of split's form."""
    if ids.type != pa.string() or ids.null_count:
        return None
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint16)
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int32)[ids.offset:ids.offset + n + 1]
    if not bool((np.diff(offsets) == WIDTH).all()):
        return None
    data = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    chars = data.reshape(n, WIDTH)
    if not bool((chars[:, 0] == PREFIX).all()):
        return None
    digits = _VALUE[chars[:, 1:]]
    if bool((digits > 15).any()):
        return None
    high: npt.NDArray[np.unsignedinteger[Any]] = np.zeros(n, dtype=np.uint64)
    for j in range(HIGH):
        high = (high << np.uint64(4)) | digits[:, j].astype(np.uint64)
    low: npt.NDArray[np.unsignedinteger[Any]] = np.zeros(n, dtype=np.uint16)
    for j in range(HIGH, HIGH + LOW):
        low = ((low << np.uint16(4)) | digits[:, j].astype(np.uint16)).astype(np.uint16)
    return high.astype(np.uint64), low.astype(np.uint16)


def unpack(high: U64, low: U16) -> pa.Array:
    """The string ids of :func:`pack`'s parts."""
    n = len(high)
    chars = np.empty((n, WIDTH), dtype=np.uint8)
    chars[:, 0] = PREFIX
    for j in range(HIGH):
        chars[:, 1 + j] = _DIGITS[(high >> np.uint64(4 * (HIGH - 1 - j))) & np.uint64(15)]
    for j in range(LOW):
        chars[:, 1 + HIGH + j] = _DIGITS[(low >> np.uint16(4 * (LOW - 1 - j))) & np.uint16(15)]
    offsets = np.arange(0, (n + 1) * WIDTH, WIDTH, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(chars.reshape(-1))])


class SentenceIds:
    """The ids of rows appended batch by batch: packed while every id has split's form,
    Arrow strings from the first that does not."""

    def __init__(self) -> None:
        self._high: list[U64] = []
        self._low: list[U16] = []
        self._strings: list[pa.Array] | None = None
        self.high: U64 = np.zeros(0, dtype=np.uint64)
        self.low: U16 = np.zeros(0, dtype=np.uint16)
        self.strings: pa.Array | None = None

    def append(self, ids: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        if self._strings is None:
            packed = pack(ids)
            if packed is not None:
                self._high.append(packed[0])
                self._low.append(packed[1])
                return
            self._strings = [unpack(h, lo) for h, lo in zip(self._high, self._low,
                                                            strict=True)]
            self._high, self._low = [], []
        self._strings.append(ids.cast(pa.string()))

    def finish(self) -> SentenceIds:
        """Join what was appended (call once, after the last batch)."""
        if self._strings is not None:
            self.strings = (pa.concat_arrays(self._strings) if self._strings
                            else pa.array([], pa.string()))
            self._strings = []
        elif self._high:
            self.high, self.low = np.concatenate(self._high), np.concatenate(self._low)
            self._high, self._low = [], []
        return self

    def __len__(self) -> int:
        return len(self.strings) if self.strings is not None else len(self.high)

    def order(self) -> Index:
        """Row numbers in the order of the ids (ascending strings)."""
        if self.strings is not None:
            return np.asarray(pc.sort_indices(self.strings).to_numpy(), dtype=np.int64)
        order: Index = np.lexsort((self.low, self.high))
        return order

    def take(self, rows: Index) -> pa.Array:
        """The string ids of ``rows``."""
        if self.strings is not None:
            return self.strings.take(pa.array(rows))
        return unpack(self.high[rows], self.low[rows])
