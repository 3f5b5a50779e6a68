"""Listing a split reads every array's .npy header; our parse of numpy's own header must give
numpy's answer for every header, the plain ones it parses itself and the rest it hands to numpy."""

import io

import numpy as np
import pytest

from dyadbench.datasets.seamless_format import npy_header


def _numpy_header(buf: bytes):
    f = io.BytesIO(buf)
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    return tuple(shape), fortran, np.dtype(dtype), f.tell()


ARRAYS = [
    np.zeros((9000, 128), "<f4"), np.zeros((9000,), "<f8"), np.zeros((), "<i8"), np.zeros((0, 3), "|b1"),
    np.zeros((2, 3, 4), ">f4"), np.asfortranarray(np.zeros((5, 7))), np.zeros((1,), "|u1"), np.array(["ab"], "<U2"),
    np.zeros(3, dtype=[("a", "<f4"), ("b", "<i2")]),  # structured: numpy's reader
    np.zeros(2, "<M8[ns]"),  # a descr the fast path does not take
]


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0), None])
@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_headers_are_numpys(array, version):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, version=version, allow_pickle=False)
    buf = out.getvalue()
    f = io.BytesIO(buf)
    shape, fortran, dtype = npy_header(f)
    want = _numpy_header(buf)
    assert (shape, fortran, dtype) == want[:3] and f.tell() == want[3]  # positioned at the data, as numpy leaves it
    assert shape == array.shape and dtype == array.dtype


def test_an_unusual_spelling_goes_to_numpy_and_a_cut_header_fails_as_numpy_does():
    text = "{'shape': (4, 2), 'fortran_order': False, 'descr': '<f8'}"  # keys in another order: still valid .npy
    text += " " * (63 - len(text)) + "\n"
    buf = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1") + bytes(64)
    assert npy_header(io.BytesIO(buf)) == _numpy_header(buf)[:3] == ((4, 2), False, np.dtype("<f8"))
    out = io.BytesIO()
    np.save(out, np.zeros((3, 3)))
    with pytest.raises(ValueError):
        npy_header(io.BytesIO(out.getvalue()[:40]))


def test_plain_headers_never_reach_numpys_parser(monkeypatch):
    """The speed-up is real: numpy's own (literal_eval) reader is not called for what numpy writes
    for plain arrays."""
    bufs = []
    for array in ARRAYS[:8]:
        out = io.BytesIO()
        np.save(out, array)
        bufs.append((array, out.getvalue()))
    for name in ("read_array_header_1_0", "read_array_header_2_0"):
        monkeypatch.setattr(np.lib.format, name, lambda *a, **k: pytest.fail("numpy's header parser was called"))
    for array, buf in bufs:
        assert npy_header(io.BytesIO(buf))[::2] == (array.shape, array.dtype)
