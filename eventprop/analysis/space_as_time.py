"""The measures of "Space as Time" (arXiv 2511.01632; code: mbalazs98/spatialdelays, fig5.py / fig10.py) on a
recurrent weight matrix, each with a null: the weighted directed clustering coefficient (Fagiolo 2007, as bctpy's
clustering_coef_wd) of |W| / max |W| against the mean of weight shuffles (the paper's small-world ratio), Louvain
modularity of the directed |W| graph against weight-shuffled and degree-preserving nulls, the wiring efficiency
(sum |w| d between its smallest and largest possible values), and the Mantel test of two distance matrices."""
from __future__ import annotations

import numpy as np


def clustering_wd(weight: np.ndarray) -> np.ndarray:
    """Per node: the intensity of the directed triangles around it, weights ^ 1/3 in the numerator (Fagiolo 2007);
    `weight` is [N, N] with non-negative entries (w[i, j]: i -> j)."""
    a = (weight != 0).astype(float)
    s = np.cbrt(weight) + np.cbrt(weight.T)
    k = (a + a.T).sum(1)
    cycles = np.diag(s @ s @ s) / 2
    possible = k * (k - 1) - 2 * np.diag(a @ a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((cycles > 0) & (possible > 0), cycles / possible, 0.0)


def clustering_ratio(weight: np.ndarray, shuffles: int = 50, seed: int = 0) -> dict:
    """The paper's measure: mean clustering_wd of |W| / max |W| over the mean of `shuffles` copies with the entries
    of the whole matrix permuted (same weights, placed at random)."""
    w = np.abs(np.asarray(weight, dtype=float))
    w = w / max(w.max(), 1e-300)
    rng = np.random.default_rng(seed)
    c = float(clustering_wd(w).mean())
    null = float(np.mean([clustering_wd(rng.permutation(w.ravel()).reshape(w.shape)).mean()
                          for _ in range(shuffles)]))
    return {"clustering": c, "null": null, "ratio": c / null if null > 0 else None, "shuffles": shuffles}


def _louvain_q(w: np.ndarray, seed: int) -> float:
    import networkx as nx          # here, not at import: the trainer imports this module for layout_diameter
    g = nx.from_numpy_array(w, create_using=nx.DiGraph)
    return float(nx.community.modularity(g, nx.community.louvain_communities(g, weight="weight", seed=seed),
                                         weight="weight"))


def modularity_with_nulls(weight: np.ndarray, nulls: int = 10, seed: int = 0) -> dict:
    """Louvain Q of the directed graph of |W| (the paper's), beside the mean Q of `nulls` weight shuffles (entries
    permuted) and of `nulls` degree-preserving nulls (each row's weights permuted among its own targets: every
    neuron keeps its out-strength, its targets are random)."""
    w = np.abs(np.asarray(weight, dtype=float))
    np.fill_diagonal(w, 0.0)
    rng = np.random.default_rng(seed)
    shuffled = [_louvain_q(_no_diagonal(rng.permutation(w.ravel()).reshape(w.shape)), seed) for _ in range(nulls)]
    rows = [_louvain_q(_no_diagonal(np.array([rng.permutation(r) for r in w])), seed) for _ in range(nulls)]
    return {"q": _louvain_q(w, seed), "q_weight_shuffle": float(np.mean(shuffled)),
            "q_row_shuffle": float(np.mean(rows)), "nulls": nulls}


def _no_diagonal(w: np.ndarray) -> np.ndarray:
    np.fill_diagonal(w, 0.0)
    return w


def wiring_efficiency(weight: np.ndarray, distance: np.ndarray) -> float | None:
    """1 - (cost - min) / (max - min) for cost = sum |w| d: 1 when the largest weights sit on the shortest
    connections (the most local wiring these weights allow), 0 when they sit on the longest; None when every
    arrangement costs the same."""
    w, d = np.abs(np.asarray(weight, float)).ravel(), np.asarray(distance, float).ravel()
    ws, ds = np.sort(w), np.sort(d)
    low, high = float(ws[::-1] @ ds), float(ws @ ds)
    if high - low <= 1e-12 * max(high, 1.0):
        return None
    return 1.0 - (float(w @ d) - low) / (high - low)


def mantel(a: np.ndarray, b: np.ndarray, permutations: int = 999, seed: int = 0) -> dict:
    """Pearson r between the upper triangles of two [N, N] distance matrices, p from permuting b's rows and columns
    together (one-sided, r larger than by chance)."""
    from scipy.stats import pearsonr
    iu = np.triu_indices(a.shape[0], 1)
    r = float(pearsonr(a[iu], b[iu]).statistic)
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(permutations):
        p = rng.permutation(a.shape[0])
        hits += pearsonr(a[iu], b[p][:, p][iu]).statistic >= r
    return {"r": r, "p_value": (hits + 1) / (permutations + 1), "permutations": permutations}


def preferred_positions(weight: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Each input channel's preferred place in the hidden layer: the |w|-weighted centroid of the hidden neurons'
    positions ([N_in, N_hid] weights, [N_hid, dims] positions -> [N_in, dims]; NaN rows for channels without
    weight)."""
    w = np.abs(np.asarray(weight, float))
    total = w.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ positions) / total


def layout_diameter(positions: np.ndarray) -> float:
    """The largest distance between two neurons of a layout ([N, dims])."""
    p = np.asarray(positions, float)
    return float(np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)).max()) if len(p) > 1 else 0.0
