""".npz archives and .npy files read without trusting their headers (no torch import).

Every .npy header is parsed here before numpy allocates anything: the size an array declares
(shape x itemsize) must be held by its file or archive member and fit the memory budget. An
archive's members must be stored, deflated, bzip2'd or lzma'd and not encrypted, and together
declare no more than the budget; zipfile stops decompressing a member at its declared size and
then checks its CRC, so a header that lies is an error, never a larger allocation. Pickled
(object) arrays are never loaded. Arrays in the other byte order are byte-swapped to the native
one (in place for an archive's arrays; a memory-mapped one is read into memory). The checks of
the values (non-finite numbers, index ranges) read an array in chunks of rows: memory stays
bounded for memory-mapped files.
"""

from __future__ import annotations

import lzma
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

from ...errors import NetspecError

# what a truncated or corrupt file raises (zipfile, zlib and lzma errors are not OSErrors)
UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError)
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# Arrays are checked this much at a time: the checks' temporaries (np.isfinite's booleans)
# stay small, which matters in the thread that reads the data (session.prepare): what it
# frees stays in its own malloc arena, unused afterwards (16 MiB chunks held 4 MiB there)
CHUNK_BYTES = 2**20
# A compressed archive member is inflated into its array this much at a time (a stored one is
# read in place): each read is a transient bytes object (zipfile's buffers one more), and once
# glibc has freed one that large it keeps the next ones in the heap (its mmap threshold
# grows), which stays in the peak RSS: 1 MiB chunks cost 2-3 MiB over the array, 16 MiB ones
# 13 MiB (numpy's own np.load reads 256 KiB)
READ_BYTES = 2**20


def _human(n: int) -> str:
    from ...compiler import human_bytes

    return human_bytes(n)


def _header(fp, name: str, where: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy stream `fp`, read up to the array's data."""
    try:
        version = npformat.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npformat.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except (ValueError, EOFError) as exc:  # a corrupt stream's own error goes to the caller
        raise NetspecError(f"{where}: {name}: not a readable .npy array: {exc}") from None
    if dtype.hasobject:
        raise NetspecError(
            f"{where}: {name} holds Python objects (dtype {dtype}), which are never loaded "
            "(pickled data could run code): save arrays of numbers"
        )
    return tuple(shape), fortran, dtype


def _check_size(name: str, shape, dtype, held: int, where: str) -> int:
    """The bytes the header declares, refused when the file holds fewer (for an archive's
    member, `held` is at most its declared size, which _check_members keeps in the budget)."""
    need = math.prod(shape) * dtype.itemsize
    if need > held:
        raise NetspecError(
            f"{where}: {name} declares shape {shape} of {dtype} ({_human(need)}) but holds only "
            f"{_human(max(held, 0))}"
        )
    return need


def _native(a: np.ndarray) -> np.ndarray:
    """`a` in the native byte order, swapped in place (a writeable array: no copy)."""
    if a.dtype.isnative or a.dtype.fields is not None:
        return a
    a.byteswap(inplace=True)
    return a.view(a.dtype.newbyteorder("="))


def read_npz(path: Path, budget: int) -> dict[str, np.ndarray]:
    """The .npy members of the archive `path` (others are ignored), each checked first."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
            _check_members(members, budget, where)
            return {m.filename[:-4]: _read_member(archive, m, where) for m in members}
    except UNREADABLE as exc:
        raise NetspecError(f"{where}: cannot read data: {exc}") from None


def _check_members(members: list[zipfile.ZipInfo], budget: int, where: str) -> None:
    """Before any member is read: methods zipfile reads, no encryption, sizes in the budget."""
    for m in members:
        if m.flag_bits & 0x1:
            raise NetspecError(
                f"{where}: {m.filename} is encrypted; save the arrays with numpy.savez"
            )
        if m.compress_type not in _METHODS:
            raise NetspecError(
                f"{where}: {m.filename} uses zip compression method {m.compress_type}, which "
                "cannot be read (stored, deflate, bzip2 and lzma can: numpy.savez or "
                "numpy.savez_compressed)"
            )
    total = sum(m.file_size for m in members)
    if total > budget:
        raise NetspecError(
            f"{where}: the arrays decompress to {_human(total)}, over the memory budget of "
            f"{_human(budget)}"
        )


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str):
    name = member.filename
    with archive.open(member) as fp:
        shape, fortran, dtype = _header(fp, name, where)
        header = fp.tell()
        _check_size(name, shape, dtype, member.file_size - header, where)
        a = np.empty(math.prod(shape), dtype)
        raw = a.view(np.uint8) if a.size and dtype.itemsize else np.empty(0, np.uint8)
        if member.compress_type != zipfile.ZIP_STORED:
            _inflate(fp, raw, name, where)
    if member.compress_type == zipfile.ZIP_STORED:  # numpy.savez: read in place
        _read_stored(archive, member, header, raw, where)
    a = a.reshape(shape[::-1]).transpose() if fortran else a.reshape(shape)
    return _native(a)


def _inflate(fp, raw: np.ndarray, name: str, where: str) -> None:
    """A compressed member's data into `raw`, READ_BYTES at a time; zipfile checks the CRC."""
    done = 0
    while done < raw.size:
        chunk = fp.read(min(READ_BYTES, raw.size - done))
        if not chunk:
            raise NetspecError(f"{where}: {name} ends after {done} of {raw.size} bytes")
        raw[done : done + len(chunk)] = np.frombuffer(chunk, np.uint8)
        done += len(chunk)
    while fp.read(READ_BYTES):  # to the declared end: zipfile then checks the CRC
        pass


def _read_stored(archive, member: zipfile.ZipInfo, header: int, raw: np.ndarray, where: str):
    """A stored member's data read from the file straight into `raw` (no chunk copies: the
    peak memory is the array's), its CRC-32 checked over the whole member as zipfile does."""
    f = archive.fp
    f.seek(member.header_offset)
    local = f.read(30)  # the local file header: its name and extra field lengths
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local file header of {member.filename}")
    start = member.header_offset + 30 + int.from_bytes(local[26:28], "little")
    start += int.from_bytes(local[28:30], "little")
    f.seek(start)
    crc = zlib.crc32(f.read(header))
    view, done = memoryview(raw.data), 0
    while done < raw.size:
        n = f.readinto(view[done : done + (1 << 30)])
        if not n:
            raise NetspecError(f"{where}: {member.filename} ends after {done} of {raw.size} bytes")
        crc = zlib.crc32(view[done : done + n], crc)
        done += n
    rest = member.file_size - header - raw.size
    while rest > 0:  # bytes after the array, in the member: part of its CRC
        chunk = f.read(min(READ_BYTES, rest))
        if not chunk:
            break
        crc, rest = zlib.crc32(chunk, crc), rest - len(chunk)
    if rest or crc != member.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {member.filename!r}")


def open_npy(path: Path, budget: int) -> np.ndarray:
    """The .npy file `path`, memory-mapped (read into memory when in the other byte order)."""
    where = str(path.parent)
    try:
        with path.open("rb") as fp:
            shape, _, dtype = _header(fp, path.name, where)
            held = path.stat().st_size - fp.tell()
        need = _check_size(path.name, shape, dtype, held, where)
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except UNREADABLE as exc:
        raise NetspecError(f"{path}: cannot read data: {exc}") from None
    if a.dtype.isnative or a.dtype.fields is not None:
        return a
    if need > budget:
        raise NetspecError(
            f"{path}: dtype {a.dtype} is in the other byte order and {_human(need)} is over "
            f"the memory budget of {_human(budget)} to convert; save it with "
            f"a.astype('{a.dtype.newbyteorder('=').str}')"
        )
    return np.array(a, dtype=a.dtype.newbyteorder("="))


def chunks(a: np.ndarray):
    """`a` in chunks of rows of about CHUNK_BYTES (read from disk one at a time if mapped)."""
    row = max(1, a[:1].nbytes)
    step = max(1, CHUNK_BYTES // row)
    for start in range(0, len(a), step):
        yield start, np.asarray(a[start : start + step])


def first_nonfinite_row(a: np.ndarray) -> int | None:
    """The first row of `a` that holds a NaN or an infinity (None: none does)."""
    if a.dtype.kind not in "fc" or not a.size:
        return None
    if not a.ndim:
        return None if np.isfinite(a) else 0
    for start, part in chunks(a):
        bad = ~np.isfinite(part.reshape(len(part), -1)).all(axis=1)
        if bad.any():
            return start + int(bad.argmax())
    return None


def value_range(a: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of `a`'s values, chunk by chunk (None when empty)."""
    if not a.size:
        return None
    if not a.ndim:
        return a.item(), a.item()
    low = high = None
    for _, part in chunks(a):
        if part.size:
            lo, hi = part.min(), part.max()
            low = lo if low is None else min(low, lo)
            high = hi if high is None else max(high, hi)
    if low is None or high is None:  # no chunk is empty when `a` is not
        return None
    return low.item(), high.item()
