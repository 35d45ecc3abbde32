"""Compiled loops for the few steps NumPy can only do in several passes over memory.

MinHash signing is a multiply, an add and a minimum over permutations x shingles: as
NumPy calls each is one pass over a (permutations x shingles) temporary; compiled, the
three happen in registers, one shingle at a time against all permutations (the inner
loop runs in SIMD). Numba compiles these on first use and caches the machine code
beside this file (or in the user's cache when that is read-only), so a later process
loads them in milliseconds. `nogil`: the callers run chunks on threads.

Integer arithmetic here is explicit about width: Numba widens uint32 operands to 64
bits, and mixing uint64 with a plain int literal gives a float. Every constant is a
typed NumPy scalar and every wrap mod 2**32 is a mask.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .compiled import compiled as _compiled

_LOW32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
# MurmurHash3's 32-bit finaliser (datasketch's, before permuting): multipliers, shifts.
_M1, _M2 = np.uint64(0x85EBCA6B), np.uint64(0xC2B2AE35)
_S13, _S16 = np.uint64(13), np.uint64(16)
# Its 64-bit finaliser, for token, shingle and band hashes.
_F1, _F2, _S33 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # folds tokens into shingles, values into band keys
_CHAR_KEY = np.uint64(0xD6E8FEB86659FD93)  # an odd multiplier for code points
_TAIL = np.uint64(0x3F)  # the payload bits of a UTF-8 continuation byte
_AHEAD = 8  # pairs between reading a random row early and counting it


@_compiled
def char_hashes(utf8: np.ndarray, out: np.ndarray) -> None:
    """The hash of each character of valid UTF-8 text, in order: its code point times a
    fixed odd key, plus one, through fmix64 (`out` holds one value per character)."""
    i = 0
    o = 0
    size = utf8.shape[0]
    while i < size:
        lead = np.uint64(utf8[i])
        if lead < 0x80:
            cp, i = lead, i + 1
        elif lead < 0xE0:
            cp = ((lead & np.uint64(0x1F)) << np.uint64(6)) | (np.uint64(utf8[i + 1]) & _TAIL)
            i += 2
        elif lead < 0xF0:
            cp = ((lead & np.uint64(0x0F)) << np.uint64(12)) | (
                (np.uint64(utf8[i + 1]) & _TAIL) << np.uint64(6)
            )
            cp |= np.uint64(utf8[i + 2]) & _TAIL
            i += 3
        else:
            cp = ((lead & np.uint64(0x07)) << np.uint64(18)) | (
                (np.uint64(utf8[i + 1]) & _TAIL) << np.uint64(12)
            )
            cp |= ((np.uint64(utf8[i + 2]) & _TAIL) << np.uint64(6)) | (np.uint64(utf8[i + 3]) & _TAIL)
            i += 4
        out[o] = _fmix64(cp * _CHAR_KEY + np.uint64(1))
        o += 1


@njit(inline="always")
def _fmix32(v: np.uint64) -> np.uint32:
    """MurmurHash3's 32-bit finaliser of a 32-bit value (held in 64 bits, masked)."""
    v ^= v >> _S16
    v = (v * _M1) & _LOW32
    v ^= v >> _S13
    v = (v * _M2) & _LOW32
    v ^= v >> _S16
    return np.uint32(v)


@njit(inline="always")
def _fmix64(x: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finaliser."""
    x ^= x >> _S33
    x *= _F1
    x ^= x >> _S33
    x *= _F2
    x ^= x >> _S33
    return x


@njit(inline="always")
def _fold(tokens: np.ndarray, p: int, first: int, width: int, acc: np.uint64, power: np.uint64) -> np.uint64:
    """The fold of the `width` tokens from `p` (each times the golden ratio, plus the
    next): whole at a text's first shingle (`first`), then rolled on from the previous
    shingle's fold `acc` (less its first token times `power` = golden ** (width - 1),
    times golden, plus the new last token). Arithmetic mod 2**64 makes both equal."""
    if p == first:
        acc = tokens[p]
        for i in range(1, width):
            acc = acc * _GOLDEN + tokens[p + i]
        return acc
    return (acc - tokens[p - 1] * power) * _GOLDEN + tokens[p + width - 1]


@njit(inline="always")
def _power(n: int) -> np.uint64:
    power = np.uint64(1)
    for _ in range(n - 1):
        power *= _GOLDEN
    return power


@njit(inline="always")
def _shingles_of_text(count: int, n: int) -> tuple[int, int]:
    """How many shingles a text of `count` tokens has, and how many tokens each holds: a
    text shorter than n is one shingle of all it has (none when it has no tokens)."""
    if count >= n:
        return count - n + 1, n
    return min(count, 1), count


@_compiled
def shingle_counts(counts: np.ndarray, n: int, out: np.ndarray) -> None:
    """out[t] = how many n-gram shingles a text of counts[t] tokens has."""
    for t in range(counts.shape[0]):
        out[t] = _shingles_of_text(counts[t], n)[0]


@_compiled
def shingles_of_tokens(
    tokens: np.ndarray, starts: np.ndarray, counts: np.ndarray, n: int, out: np.ndarray
) -> None:
    """Each text's n-gram shingle hashes, flat into `out`, text after text: a shingle's
    fold of its tokens, plus n, through fmix64."""
    power = _power(n)
    acc = np.uint64(0)
    o = 0
    for t in range(starts.shape[0]):
        many, width = _shingles_of_text(counts[t], n)
        for p in range(starts[t], starts[t] + many):
            acc = _fold(tokens, p, starts[t], width, acc, power)
            out[o] = _fmix64(acc + np.uint64(n))
            o += 1


@_compiled
def minhash_signatures(
    tokens: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[t, k] = min over text t's shingles x of (a[k] * fmix32(low 32 bits of x) + b[k])
    mod 2**32: datasketch's affine32 MinHash, for every text at once, each shingle made
    from the tokens as it is needed (the shingles are never held)."""
    perms = a.shape[0]
    low = np.empty(perms, dtype=np.uint32)
    power = _power(n)
    acc = np.uint64(0)
    for t in range(starts.shape[0]):
        low[:] = np.uint32(0xFFFFFFFF)
        many, width = _shingles_of_text(counts[t], n)
        for p in range(starts[t], starts[t] + many):
            acc = _fold(tokens, p, starts[t], width, acc, power)
            x = _fmix32(_fmix64(acc + np.uint64(n)) & _LOW32)
            for k in range(perms):
                # min(), not a compare and a conditional store: only this form runs in
                # SIMD (8 lanes of AVX2): 1.2 -> 8.1 G permutations a second, one thread.
                low[k] = min(low[k], np.uint32(a[k] * x + b[k]))
        out[t, :] = low


@_compiled
def band_keys(sigs: np.ndarray, rows_per_band: int, out: np.ndarray) -> None:
    """out[t, band] = the 32-bit key of signature t's slice for `band`: its values folded
    (times the golden ratio, plus the next) from band + 1, through fmix64, high half
    xor low half."""
    for t in range(sigs.shape[0]):
        for band in range(out.shape[1]):
            acc = np.uint64(band + 1)
            for c in range(band * rows_per_band, (band + 1) * rows_per_band):
                acc = acc * _GOLDEN + np.uint64(sigs[t, c])
            acc = _fmix64(acc)
            out[t, band] = np.uint32((acc ^ (acc >> _S32)) & _LOW32)


@njit(inline="always")
def _sort(seg: np.ndarray) -> None:
    """Sorts a few values in place: insertion sort up to 128 (Numba's quicksort took 1.8x
    as long on chat texts' sets of a few dozen), quicksort beyond."""
    if seg.shape[0] > 128:
        seg.sort()
        return
    for i in range(1, seg.shape[0]):
        v = seg[i]
        j = i - 1
        while j >= 0 and seg[j] > v:
            seg[j + 1] = seg[j]
            j -= 1
        seg[j + 1] = v


@_compiled
def distinct_sorted(values: np.ndarray, starts: np.ndarray, counts: np.ndarray, sizes: np.ndarray) -> int:
    """Sorts each text's values and keeps each once, compacted in place to the front of
    `values`, text after text; each text's distinct count goes into `sizes`. Returns
    how many values are kept. A text's values are few (tens), so one small sort each
    beats sorting the whole chunk by (text, value)."""
    kept = 0
    for t in range(starts.shape[0]):
        seg = values[starts[t] : starts[t] + counts[t]]
        _sort(seg)
        size = 0
        for i in range(seg.shape[0]):
            if i == 0 or seg[i] != seg[i - 1]:
                # kept + size never passes starts[t] + i: a write lands on a value already read.
                values[kept + size] = seg[i]
                size += 1
        sizes[t] = size
        kept += size
    return kept


@_compiled
def compact_sorted(values: np.ndarray) -> int:
    """Keeps each value of sorted `values` once, compacted in place to the front; returns
    how many are kept."""
    kept = 0
    for i in range(values.shape[0]):
        if i == 0 or values[i] != values[kept - 1]:
            values[kept] = values[i]
            kept += 1
    return kept


@_compiled
def intersections(
    values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    """out[i] = how many values the sorted, distinct sets of texts a[i] and b[i] share."""
    for i in range(a.shape[0]):
        p, p_end = starts[a[i]], starts[a[i]] + sizes[a[i]]
        q, q_end = starts[b[i]], starts[b[i]] + sizes[b[i]]
        shared = 0
        while p < p_end and q < q_end:
            x, y = values[p], values[q]
            if x == y:
                shared += 1
                p += 1
                q += 1
            elif x < y:
                p += 1
            else:
                q += 1
        out[i] = shared


@_compiled
def agreements(pairs: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, out: np.ndarray) -> int:
    """out[i] = how many columns of rows_a[high 32 bits of pairs[i]] equal those of
    rows_b[low 32 bits]: a MinHash estimate's numerator, without gathering the rows.

    Pairs come sorted by their first text, so rows_b is read at random, a cache miss
    each: the row 8 pairs ahead is read early (its first value folded into what is
    returned, so the read is not optimised away) and arrives while this pair is counted.
    5M pairs over 5M rows: 0.64 -> 0.40 s."""
    n = pairs.shape[0]
    early = 0
    for i in range(n):
        if i + _AHEAD < n:
            early ^= rows_b[pairs[i + _AHEAD] & _LOW32, 0]
        a = rows_a[pairs[i] >> _S32]
        b = rows_b[pairs[i] & _LOW32]
        same = 0
        for c in range(a.shape[0]):
            same += a[c] == b[c]
        out[i] = same
    return early


@_compiled
def sorted_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.argsort(keys, kind="stable") of uint32 keys (as uint32), and the keys in that
    order: a radix sort, 11, 11 and 10 bits a pass. Each pass carries the keys along
    with the positions, so no key is read at random, and its 2,048 counters stay in
    the fastest cache (two passes of 16 bits scattered over 65,536). A band of 4M texts
    ordered, runs and all (band_order): 0.17-0.18 -> 0.10 s."""
    n = keys.shape[0]
    order = np.empty(n, dtype=np.uint32)
    held = np.empty(n, dtype=np.uint32)
    spare_order = np.empty(n, dtype=np.uint32)
    spare_held = np.empty(n, dtype=np.uint32)
    counts = np.zeros((3, 2048), dtype=np.int64)
    for i in range(n):
        k = keys[i]
        counts[0, k & 0x7FF] += 1
        counts[1, (k >> 11) & 0x7FF] += 1
        counts[2, k >> 22] += 1
    for row in range(3):
        total = 0
        for d in range(2048):
            c = counts[row, d]
            counts[row, d] = total
            total += c
    for i in range(n):
        k = keys[i]
        at = counts[0, k & 0x7FF]
        counts[0, k & 0x7FF] = at + 1
        spare_order[at] = i
        spare_held[at] = k
    for q in range(n):
        k = spare_held[q]
        at = counts[1, (k >> 11) & 0x7FF]
        counts[1, (k >> 11) & 0x7FF] = at + 1
        order[at] = spare_order[q]
        held[at] = k
    for q in range(n):
        k = held[q]
        at = counts[2, k >> 22]
        counts[2, k >> 22] = at + 1
        spare_order[at] = order[q]
        spare_held[at] = k
    return spare_order, spare_held


@_compiled
def band_pairs(keys: np.ndarray, members: np.ndarray, start: int, max_bucket: int) -> tuple[np.ndarray, bool]:
    """The candidate pairs of one band (min << 32 | max of the two members' texts) and
    whether some bucket held more than `max_bucket` texts. Members sharing a key,
    in their order, are each paired with the next `max_bucket` of them: the pairs at
    distance 1 first, then 2, and so on, each distance in key order; a larger bucket is
    a chain (still connected, still verified). `members` empty: key i is text start + i
    (no array of them is made)."""
    order, ranked = sorted_order(keys)
    n = ranked.shape[0]
    given = members.shape[0] > 0
    # Buckets of two or more, as runs of the sorted keys: counted, then start and size.
    runs = 0
    for p in range(1, n):
        if ranked[p] == ranked[p - 1] and (p == 1 or ranked[p - 1] != ranked[p - 2]):
            runs += 1
    run_start = np.empty(runs, dtype=np.int64)
    run_size = np.empty(runs, dtype=np.int64)
    runs = 0
    p = 0
    while p < n:
        q = p + 1
        while q < n and ranked[q] == ranked[p]:
            q += 1
        if q - p > 1:
            run_start[runs] = p
            run_size[runs] = q - p
            runs += 1
        p = q
    largest = run_size.max() if runs else 1
    reach = min(max_bucket, largest - 1)  # the largest distance at which two texts pair
    total = 0
    for r in range(runs):
        for d in range(1, min(max_bucket, run_size[r] - 1) + 1):
            total += run_size[r] - d
    out = np.empty(total, dtype=np.uint64)
    o = 0
    for d in range(1, reach + 1):
        # Runs still longer than d, kept in order (so the pairs come in key order).
        kept = 0
        for r in range(runs):
            if run_size[r] > d:
                run_start[kept] = run_start[r]
                run_size[kept] = run_size[r]
                kept += 1
                for p in range(run_start[r], run_start[r] + run_size[r] - d):
                    if given:
                        i, j = members[order[p]], members[order[p + d]]
                    else:
                        i, j = np.uint64(order[p] + start), np.uint64(order[p + d] + start)
                    out[o] = (min(i, j) << _S32) | max(i, j)
                    o += 1
        runs = kept
    return out, largest > max_bucket


@njit(inline="always")
def _agrees(a: np.ndarray, b: np.ndarray, floor: float) -> bool:
    """Whether two estimate rows agree in a share of at least `floor` of their columns,
    as lsh_pass.likely_pairs judges them."""
    same = 0
    for c in range(a.shape[0]):
        same += a[c] == b[c]
    return same / a.shape[0] >= floor


_NIBBLE = np.uint64(0xF)
_NIBBLE_LOW = np.uint64(0x1111111111111111)  # the low bit of every nibble


@_compiled
def nibbles(rows: np.ndarray) -> np.ndarray:
    """Each estimate row's columns cut to their low 4 bits, 16 to a uint64 (the nibbles
    past the last column are 0): 32 bytes a row where the row is 128, for `_may_agree`."""
    n, columns = rows.shape
    out = np.zeros((n, (columns + 15) // 16), dtype=np.uint64)
    for i in range(n):
        for c in range(columns):
            out[i, c // 16] |= (np.uint64(rows[i, c]) & _NIBBLE) << np.uint64(4 * (c % 16))
    return out


@njit(inline="always")
def _popcount(x: np.uint64) -> np.uint64:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(inline="always")
def _may_agree(a: np.ndarray, b: np.ndarray, columns: int, floor: float) -> bool:
    """False only where `_agrees` is false for the rows these nibble rows (see `nibbles`)
    came from: two equal columns have equal low bits, so the nibbles agree at least as
    often as the columns (the padding always agrees, which only errs towards True).

    A pair of short texts that merely shares a band (nearly every candidate) is
    turned away here, from 32 bytes that stay in cache, rather than from two 128-byte
    rows read at random: at 5M rows judging took a third to nearly a half less time
    (one cross chunk 0.21 -> 0.14 s, a block of likely_within 3.71 -> 2.10 s)."""
    same = 0
    for w in range(a.shape[0]):
        x = a[w] ^ b[w]
        x |= x >> np.uint64(1)
        x |= x >> np.uint64(2)
        same += 16 - np.int64(_popcount(x & _NIBBLE_LOW))
    return same / columns >= floor


@njit(inline="always")
def _likely(
    sketch_a: np.ndarray, sketch_b: np.ndarray, row_a: np.ndarray, row_b: np.ndarray, floor: float
) -> bool:
    """`_agrees` of two estimate rows, asked first of their nibbles (`_may_agree`)."""
    return _may_agree(sketch_a, sketch_b, row_a.shape[0], floor) and _agrees(row_a, row_b, floor)


@njit(inline="always")
def _push(out: np.ndarray, n: int, value: np.uint64) -> np.ndarray:
    """`out` with `value` at position n, doubled first when full."""
    if n == out.shape[0]:
        grown = np.empty(2 * n, dtype=out.dtype)
        grown[:n] = out
        out = grown
    out[n] = value
    return out


_TIED = np.uint32(1 << 31)  # in a band's order: this text's key is the one before's


@_compiled
def band_order(keys: np.ndarray, max_bucket: int, out: np.ndarray) -> tuple[int, int]:
    """One band's texts in key order (text order within a key) into `out`, each with
    _TIED set when its key is the one before's, so a bucket is a run of the order.
    Returns the size of the largest bucket and how many pairs the band forms (each text
    with the next `max_bucket` of its bucket, as band_pairs)."""
    order, held = sorted_order(keys)
    n = order.shape[0]
    largest = 1
    pairs = 0
    run = 1
    for p in range(n):
        tied = p > 0 and held[p] == held[p - 1]
        run = run + 1 if tied else 1
        out[p] = order[p] | (_TIED if tied else np.uint32(0))
        if p == n - 1 or held[p + 1] != held[p]:  # the run ends here
            largest = max(largest, run)
            for d in range(1, min(max_bucket, run - 1) + 1):
                pairs += run - d
    return largest, pairs


@_compiled
def order_pairs(order: np.ndarray, max_bucket: int, total: int) -> np.ndarray:
    """The `total` pairs (i << 32 | j, i < j) of one band's order (see band_order): each
    text with the next `max_bucket` texts of its bucket."""
    out = np.empty(total, dtype=np.uint64)
    k = 0
    n = order.shape[0]
    for p in range(n):
        i = np.uint64(order[p] & ~_TIED)
        q = p + 1
        while q < min(n, p + max_bucket + 1) and order[q] & _TIED:
            out[k] = (i << _S32) | np.uint64(order[q] & ~_TIED)
            k += 1
            q += 1
    return out


@_compiled
def likely_within(
    orders: np.ndarray, lo: int, hi: int, max_bucket: int, rows: np.ndarray, sketch: np.ndarray, floor: float
) -> tuple[np.ndarray, int]:
    """The candidate pairs (i << 32 | j, i < j) of texts lo <= i < hi with every text,
    from the bands' orders (bands x texts, see band_order), as band_pairs forms them:
    a text pairs with the next `max_bucket` texts of its bucket. Returns those whose
    estimate rows agree in a share of at least `floor` of their columns (as
    lsh_pass.likely_pairs), sorted, and how many distinct candidates there were.
    `sketch` is `nibbles(rows)`, which turns away most candidates first.

    A text's partners are gathered from every band and each taken once by a mark, so
    the candidates (tens of millions of short texts' chance pairs at 5M rows) are
    counted without ever being held, sorted or made unique all together."""
    bands, n = orders.shape
    # Where each of these texts stands in each band's order.
    at = np.empty((hi - lo, bands), dtype=np.int64)
    for b in range(bands):
        for p in range(n):
            t = np.int64(orders[b, p] & ~_TIED)
            if lo <= t < hi:
                at[t - lo, b] = p
    met = np.full(n, -1, dtype=np.int64)  # the last text that met each text
    partners = np.empty(1024, dtype=np.int64)
    out = np.empty(1024, dtype=np.uint64)
    found = 0
    count = 0
    for i in range(lo, hi):
        m = 0
        for b in range(bands):
            p = at[i - lo, b]
            last = min(n, p + max_bucket + 1)
            q = p + 1
            while q < last and orders[b, q] & _TIED:
                j = np.int64(orders[b, q] & ~_TIED)
                q += 1
                if met[j] == i:
                    continue
                met[j] = i
                # Grown here, not by _push: through it this loop ran 15-40% slower.
                if m == partners.shape[0]:
                    grown = np.empty(2 * m, dtype=np.int64)
                    grown[:m] = partners
                    partners = grown
                partners[m] = j
                m += 1
        count += m
        first = found
        for k in range(m):
            j = partners[k]
            if _likely(sketch[i], sketch[j], rows[i], rows[j], floor):
                out = _push(out, found, (np.uint64(i) << _S32) | np.uint64(j))
                found += 1
        _sort(out[first:found])
    return out[:found], count


@njit(inline="always")
def _slot(value: np.uint64, seen: np.ndarray) -> tuple[np.uint64, np.uint8]:
    """The byte of `seen` and the bit in it that mark a value's slot: its low bits, over
    8 x len(seen) slots (a power of two); bit k of seen[j] is slot 8j + k."""
    slot = value & np.uint64(seen.shape[0] * 8 - 1)
    return slot >> np.uint64(3), np.uint8(1 << (slot & np.uint64(7)))


@_compiled
def mark_slots(values: np.ndarray, seen: np.ndarray) -> None:
    """Sets the bit of each value's slot (see _slot)."""
    for v in values:
        byte, bit = _slot(v, seen)
        seen[byte] |= bit


@_compiled
def sorted_find(
    values: np.ndarray, seen: np.ndarray, queries: np.ndarray, found: np.ndarray, at: np.ndarray
) -> int:
    """The queries held in sorted `values`: their positions into `found` and the values'
    into `at`, in query order; how many there are. `seen` (see mark_slots) marks the low
    bits of every value: a query whose mark is unset is not looked for."""
    size = values.shape[0]
    k = 0
    for i in range(queries.shape[0]):
        q = queries[i]
        byte, bit = _slot(q, seen)
        if not seen[byte] & bit:
            continue
        lo, hi = 0, size
        while lo < hi:
            mid = (lo + hi) >> 1
            if values[mid] < q:
                lo = mid + 1
            else:
                hi = mid
        if lo < size and values[lo] == q:
            found[k] = i
            at[k] = lo
            k += 1
    return k


@_compiled
def cross_candidates(
    hit: np.ndarray,
    bucket: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
    items: np.ndarray,
    bands: int,
    words_a: np.ndarray,
    words_b: np.ndarray,
    ratio: float,
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    sketch_a: np.ndarray,
    sketch_b: np.ndarray,
    floor: float,
) -> np.ndarray:
    """Distinct pairs (left text << 32 | right text), sorted, of a chunk's band codes
    found in a sorted index: `hit` (rising) into the chunk's codes, laid out text by
    text, so the left text is hit // bands; `bucket` into the index, whose bucket b
    holds the right texts items[start[b] : start[b] + count[b]].

    Each left text's partners are gathered from all its buckets and taken once (a pair
    in k buckets comes k times), then judged: with word counts (`words_a`
    non-empty), within `ratio` (the shorter has at least `ratio` of the longer's words, with
    a word to spare either way: the rule of the edge windows); with estimate rows (`rows_a`
    non-empty), an equal share of columns of at least `floor` as lsh_pass.likely_pairs,
    asked first of their `nibbles` (`sketch_a`, `sketch_b`). Only pairs passing both
    are kept, so the many candidates of short texts from one vocabulary are never held
    or sorted all together."""
    out = np.empty(1024, dtype=np.uint64)
    partners = np.empty(1024, dtype=np.int64)
    columns = rows_a.shape[1] if rows_a.shape[0] else 0
    by_words = words_a.shape[0] > 0
    # The last left text that met each right text: a partner met again is skipped at
    # once, with no sort of every text's partners (a hundred and more each at 5M rows).
    right = rows_b.shape[0] if columns else (words_b.shape[0] if by_words else 0)
    if right == 0 and items.shape[0]:
        right = items.max() + 1
    met = np.full(right, -1, dtype=np.int64)
    n = 0
    h = 0
    while h < hit.shape[0]:
        text = hit[h] // bands
        m = 0
        while h < hit.shape[0] and hit[h] // bands == text:
            b = bucket[h]
            if m + count[b] > partners.shape[0]:
                grown = np.empty(2 * (m + count[b]), dtype=np.int64)
                grown[:m] = partners[:m]
                partners = grown
            for k in range(count[b]):
                j = items[start[b] + k]
                if met[j] == text:
                    continue
                met[j] = text
                if by_words:
                    lo, hi = min(words_a[text], words_b[j]), max(words_a[text], words_b[j])
                    if not (lo >= np.floor(hi * ratio) - 1 and hi <= np.ceil(lo / ratio) + 1):
                        continue
                partners[m] = j
                m += 1
            h += 1
        first = n
        for p in range(m):
            j = partners[p]
            if columns and not _likely(sketch_a[text], sketch_b[j], rows_a[text], rows_b[j], floor):
                continue
            out = _push(out, n, (np.uint64(text) << _S32) | np.uint64(j))
            n += 1
        # Only the few that pass are put in order.
        _sort(out[first:n])
    return out[:n]


# ASCII byte classes for ascii_vocabulary: 0 not a word character, 1 a letter, 2 a digit or "_".
_WORD_CLASS = np.zeros(256, dtype=np.uint8)
_WORD_CLASS[ord("A") : ord("Z") + 1] = _WORD_CLASS[ord("a") : ord("z") + 1] = 1
_WORD_CLASS[ord("0") : ord("9") + 1] = _WORD_CLASS[ord("_")] = 2


@njit(inline="always")
def _run_key(text: np.ndarray, start: int, end: int) -> np.uint64:
    """Where a run of lowercased bytes goes in the word table: its length and its first
    and last two bytes, mixed (a run found there is then compared byte by byte)."""
    size = np.uint64(end - start)
    head = np.uint64(text[start] | 0x20) | (np.uint64(text[min(start + 1, end - 1)] | 0x20) << np.uint64(8))
    tail = np.uint64(text[end - 1] | 0x20) | (np.uint64(text[max(end - 2, start)] | 0x20) << np.uint64(8))
    return _fmix64((size << np.uint64(32)) | (head << np.uint64(16)) | tail)


@njit(inline="always")
def _is_word(
    text: np.ndarray,
    start: int,
    end: int,
    table: np.ndarray,
    words: np.ndarray,
    word_starts: np.ndarray,
    word_lengths: np.ndarray,
) -> bool:
    mask = np.uint64(table.shape[0] - 1)
    slot = _run_key(text, start, end) & mask
    while table[slot] >= 0:
        w = table[slot]
        if word_lengths[w] == end - start:
            d = 0
            while d < end - start and (text[start + d] | 0x20) == words[word_starts[w] + d]:
                d += 1
            if d == end - start:
                return True
        slot = (slot + np.uint64(1)) & mask
    return False


@_compiled
def ascii_vocabulary(
    utf8: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    limit: int,
    words: np.ndarray,
    word_starts: np.ndarray,
    word_lengths: np.ndarray,
    runs: np.ndarray,
    common: np.ndarray,
) -> None:
    """For each ASCII text, over its first `limit` bytes, lowercased: how many runs of
    letters it has (runs[i]: count_matches(r"\\p{L}+")) and how many of its maximal runs
    of word characters ([A-Za-z0-9_]) are one of `words` (common[i]: count_matches of
    r"\\b(?:w1|w2|...)\\b" for lowercase words of letters, which can only match such a
    run whole). `words` are the words' bytes end to end (word_starts, word_lengths)."""
    size = 8
    while size < 4 * word_starts.shape[0]:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    for w in range(word_starts.shape[0]):
        slot = _run_key(words, word_starts[w], word_starts[w] + word_lengths[w]) & np.uint64(size - 1)
        while table[slot] >= 0:
            slot = (slot + np.uint64(1)) & np.uint64(size - 1)
        table[slot] = w
    for i in range(starts.shape[0]):
        lo = starts[i]
        hi = lo + min(lengths[i], limit)
        n = 0
        found = 0
        run = -1  # where the run of word characters being read started
        letter = False  # whether the byte before was a letter
        for k in range(lo, hi):
            kind = _WORD_CLASS[utf8[k]]
            if kind:
                if run < 0:
                    run = k
                if kind == 1 and not letter:
                    n += 1
                letter = kind == 1
            else:
                # A run holding a digit or "_" is looked up too: it never equals a word of letters.
                if run >= 0 and _is_word(utf8, run, k, table, words, word_starts, word_lengths):
                    found += 1
                run = -1
                letter = False
        if run >= 0 and _is_word(utf8, run, hi, table, words, word_starts, word_lengths):
            found += 1
        runs[i] = n
        common[i] = found
