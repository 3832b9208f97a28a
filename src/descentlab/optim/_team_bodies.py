"""The compiled bodies that an OpenMP team runs (imported by ``_omp`` only, as it needs numba).

A body steps a table of arrays from inside an OpenMP parallel region: each thread of the team
claims pieces of the table's rows with an atomic counter and runs the rule's kernel from
``_fused`` on them, without the GIL, so the arithmetic is the kernels' own (bit for bit the NumPy
path's). A body's one argument is the address of six int64 slots::

    [rows, coefficients, n_rows, chunk, n_pieces, claimed]

``rows`` is the address of an ``(n_rows, 4 + MAX_ARRAYS)`` int64 table that ``fill_row`` fills,
one row per array to step: its kernel's id (``IDS``), its size, the index of its first piece, its
row of coefficients, then the addresses of the kernel's flat arrays in the kernel's order (unused
slots repeat the first address). ``coefficients`` is the address of a ``(k, MAX_COEFFICIENTS)``
table in the arrays' dtype, each row the coefficients of a kernel call in its order (Adagrad's
``eps_inside`` as 0 or 1). ``claimed`` starts at 0: the threads claim pieces by adding 1 to it
atomically. Piece ``q`` of a row is its elements from ``chunk * (q - first)`` on, ``chunk`` of
them at most.

The module defines everything at its top level, so that numba's cache keeps the compiled bodies
between processes (functions nested in another are compiled anew in each process).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from descentlab.optim import _fused

IDS = {name: i for i, name in enumerate(
    ("gd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "nadam", "nadam_torch"))}
MAX_ARRAYS, MAX_COEFFICIENTS = 4, 12

gd, momentum, adagrad, rmsprop, adadelta, adam, nadam, nadam_torch = (
    _fused.kernel(name) for name in IDS)


@intrinsic
def _pointer_to(typingctx, address, like):
    """The int64 ``address`` as a pointer to values of ``like``'s type."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return types.CPointer(like)(address, like), codegen


@intrinsic
def _claim(typingctx, address):
    """Atomically add 1 to the int64 at ``address``; its value before."""
    def codegen(context, builder, signature, args):
        slot = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        return builder.atomic_rmw("add", slot, ir.Constant(ir.IntType(64), 1), "monotonic")

    return types.int64(address), codegen


@_fused.cached(numba.njit)
def fill_row(table, r, kid, coefficient_row, first, chunk, x0, x1, x2, x3):
    """Write row ``r`` of ``table`` (its first piece is ``first``); the next row's first piece.
    (One compiled call reads the four addresses: ``x.ctypes.data`` costs a microsecond each.)"""
    n = x0.size
    table[r, 0], table[r, 1], table[r, 2], table[r, 3] = kid, n, first, coefficient_row
    table[r, 4], table[r, 5] = x0.ctypes.data, x1.ctypes.data
    table[r, 6], table[r, 7] = x2.ctypes.data, x3.ctypes.data
    return first + (n + chunk - 1) // chunk


@_fused.cached(numba.njit, nogil=True, error_model="numpy")
def _team(header, like):
    m, chunk, n_pieces = header[2], header[3], header[4]
    rows = numba.carray(_pointer_to(header[0], header[0]), (m, 4 + MAX_ARRAYS))
    cs = numba.carray(_pointer_to(header[1], like), (m, MAX_COEFFICIENTS))
    r = 0  # a thread's claims only grow, so its row only moves forward: O(rows + pieces)
    while True:
        q = _claim(header.ctypes.data + 5 * 8)
        if q >= n_pieces:
            return
        while r + 1 < m and rows[r + 1, 2] <= q:
            r += 1
        kid, n = rows[r, 0], rows[r, 1]
        a = (q - rows[r, 2]) * chunk
        b = min(a + chunk, n)
        x0 = numba.carray(_pointer_to(rows[r, 4], like), n)
        x1 = numba.carray(_pointer_to(rows[r, 5], like), n)
        x2 = numba.carray(_pointer_to(rows[r, 6], like), n)
        x3 = numba.carray(_pointer_to(rows[r, 7], like), n)
        c = cs[rows[r, 3]]
        if kid == 0:
            gd(x0, x1, c[0], a, b)
        elif kid == 1:
            momentum(x0, x1, x2, c[0], c[1], a, b)
        elif kid == 2:
            adagrad(x0, x1, x2, c[0], c[1], c[2] != 0, a, b)
        elif kid == 3:
            rmsprop(x0, x1, x2, c[0], c[1], c[2], c[3], a, b)
        elif kid == 4:
            adadelta(x0, x1, x2, x3, c[0], c[1], c[2], c[3], a, b)
        elif kid == 5:
            adam(x0, x1, x2, x3, c[0], c[1], c[2], c[3], c[4], c[5], c[6], a, b)
        elif kid == 6:
            nadam(x0, x1, x2, x3, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], a, b)
        else:
            nadam_torch(x0, x1, x2, x3, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], a, b)


_body = _fused.cached(numba.cfunc, sig=types.void(types.voidptr), nopython=True)


@_body
def team_float32(data):
    _team(numba.carray(data, 6, np.int64), np.float32(0))


@_body
def team_float64(data):
    _team(numba.carray(data, 6, np.int64), np.float64(0))


BODIES = {np.dtype(np.float32): team_float32.address, np.dtype(np.float64): team_float64.address}
