"""How far Winograd's minimal filtering, computed in float32, lands from the exact convolution.

For the second convolution's shape (32 channels in, 64 out, a 14x14 plane, 5x5 'SAME'), it
builds the transforms of F(2x2, 5x5) and of F(4x4, 5x5) (what digitdash uses on 14x14 planes) from their
interpolation points (Cook-Toom: Aᵀ and G from the points, Bᵀ solved so that the tiling gives
the correlation exactly), checks each against a float64 direct convolution in float64, then
runs it in float32 and prints the largest error relative to the largest output, beside the
float32 direct sum's. The inputs look like the layer's: ReLU'd activations and filters of
standard deviation 0.1, clipped at two.

    .venv-bench/bin/python bench/winograd_error.py [--trials 3]

It also prints how many products each tiling does for one 14x14 plane: an F(4x4) tile covers
16 outputs, so a 14x14 plane takes 16 tiles (a 16x16 area) of 64 positions each.
"""

import argparse
from fractions import Fraction

import numpy as np

KERNEL = 5
CHANNELS_IN, CHANNELS_OUT, SIDE = 32, 64, 14
TILINGS = [
    ("F(2x2,5x5), points 0 ±1 ±2 ∞", 2, [0, 1, -1, 2, -2]),
    ("F(4x4,5x5), points 0 ±1 ±2 ±1/2 ∞", 4, [0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)]),
]


def transforms(m, points):
    """Aᵀ (m x n), G (n x 5) and Bᵀ (n x n) of F(m, 5) over the finite `points` and infinity."""
    n = m + KERNEL - 1
    a_t, g = np.zeros((m, n)), np.zeros((n, KERNEL))
    for j, a in enumerate(points):
        a_t[:, j] = [float(Fraction(a) ** i) for i in range(m)]
        f = np.prod([float(Fraction(a) - Fraction(b)) for b in points if b != a])
        g[j] = [float(Fraction(a) ** k) / f for k in range(KERNEL)]
    a_t[m - 1, n - 1], g[n - 1, KERNEL - 1] = 1.0, 1.0
    # Σ_j Aᵀ[i,j] G[j,k] Bᵀ[j,l] = [l == i + k] for every i, k, l: linear in Bᵀ.
    rows, rhs = [], []
    for i in range(m):
        for k in range(KERNEL):
            for l in range(n):
                row = np.zeros((n, n))
                row[:, l] = a_t[i] * g[:, k]
                rows.append(row.ravel())
                rhs.append(1.0 if l == i + k else 0.0)
    b_t = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    return a_t, g, b_t


def winograd(padded, filters, m, mats, dtype):
    """The 'SAME' correlation of `padded` ([in, side+4, side+4]) with `filters` by F(m, 5)."""
    a_t, g, b_t = (x.astype(dtype) for x in mats)
    n = m + KERNEL - 1
    side = padded.shape[1] - (KERNEL - 1)
    tiles = -(-side // m)
    area = np.zeros((padded.shape[0], tiles * m + KERNEL - 1, tiles * m + KERNEL - 1), dtype)
    area[:, : padded.shape[1], : padded.shape[2]] = padded
    u = np.einsum("ak,ockl,bl->ocab", g, filters.astype(dtype), g).astype(dtype)
    out = np.zeros((filters.shape[0], tiles * m, tiles * m), dtype)
    for ty in range(tiles):
        for tx in range(tiles):
            d = area[:, ty * m : ty * m + n, tx * m : tx * m + n]
            v = np.einsum("ai,cij,bj->cab", b_t, d, b_t).astype(dtype)
            products = np.einsum("ocab,cab->oab", u, v).astype(dtype)
            out[:, ty * m : ty * m + m, tx * m : tx * m + m] = np.einsum(
                "ia,oab,jb->oij", a_t, products, a_t
            )
    return out[:, :side, :side]


def direct(padded, filters, dtype):
    """The same correlation summed tap by tap."""
    side = padded.shape[1] - (KERNEL - 1)
    out = np.zeros((filters.shape[0], side, side), dtype)
    for ky in range(KERNEL):
        for kx in range(KERNEL):
            window = padded[:, ky : ky + side, kx : kx + side].astype(dtype)
            out += np.einsum("oc,chw->ohw", filters[:, :, ky, kx].astype(dtype), window)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="random inputs to try")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    errors = {}
    for _ in range(args.trials):
        image = np.maximum(rng.normal(0.3, 0.5, (CHANNELS_IN, SIDE, SIDE)), 0.0)
        padded = np.pad(image, ((0, 0), (2, 2), (2, 2)))
        filters = np.clip(rng.normal(0, 0.1, (CHANNELS_OUT, CHANNELS_IN, KERNEL, KERNEL)), -0.2, 0.2)
        exact = direct(padded, filters, np.float64)
        scale = np.abs(exact).max()
        for name, m, points in TILINGS:
            mats = transforms(m, points)
            in_f64 = winograd(padded, filters, m, mats, np.float64)
            assert np.abs(in_f64 - exact).max() < 1e-9 * scale, f"{name} is not exact"
            got = winograd(padded, filters, m, mats, np.float32)
            errors.setdefault(name, []).append(np.abs(got - exact).max() / scale)
        got = direct(padded, filters, np.float32)
        errors.setdefault("direct sum", []).append(np.abs(got - exact).max() / scale)
    products = {name: (-(-SIDE // m)) ** 2 * (m + KERNEL - 1) ** 2 for name, m, _ in TILINGS}
    products["direct sum"] = SIDE * SIDE * KERNEL * KERNEL
    for name, errs in errors.items():
        print(
            f"{name:38s} float32 error / largest output: {max(errs):.2e}; "
            f"products per channel pair over a {SIDE}x{SIDE} plane: {products[name]}"
        )


if __name__ == "__main__":
    main()
