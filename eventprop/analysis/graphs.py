"""Graph metrics of a trained network (spec/spatial.md): the strongest-|w| graph at a stated density, small-world
sigma and omega against degree-preserving random and lattice references, Louvain modularity, spatial locality."""
from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.stats import spearmanr


def strongest_graph(pre: np.ndarray, post: np.ndarray, weight: np.ndarray, n_nodes: int, density: float) -> nx.Graph:
    """Undirected graph on n_nodes keeping the strongest `density` share of the candidate pairs (edges given as
    pre -> post with weight; both directions of a pair merge into the larger |w|); edge attribute weight = |w|."""
    strength: dict[tuple[int, int], float] = {}
    for i, j, w in zip(pre.tolist(), post.tolist(), np.abs(weight).tolist()):
        if i != j:
            key = (min(i, j), max(i, j))
            strength[key] = max(strength.get(key, 0.0), w)
    keep = max(1, int(round(density * len(strength))))
    g = nx.Graph()
    g.add_nodes_from(range(n_nodes))
    for (i, j), w in sorted(strength.items(), key=lambda kv: -kv[1])[:keep]:
        g.add_edge(i, j, weight=w)
    return g


def _c_and_l(g: nx.Graph) -> tuple[float, float]:
    """Average clustering, and characteristic path length on the largest connected component."""
    core = g.subgraph(max(nx.connected_components(g), key=len))
    return nx.average_clustering(g), nx.average_shortest_path_length(core)


def small_world(g: nx.Graph, n_ref: int = 3, swaps_per_edge: int = 10, seed: int = 0) -> dict:
    """sigma = (C/C_rand)/(L/L_rand) and omega = L_rand/L - C/C_latt on the largest connected component. Random
    references: n_ref degree-preserving rewirings (networkx double_edge_swap, swaps_per_edge swaps per edge, seeded);
    lattice reference: the ring lattice with the same number of nodes and mean degree (networkx's
    random_reference / lattice_reference keep the graph connected at every swap and take minutes on a few thousand
    edges). sigma / omega are None when C_rand or C_latt is 0 (e.g. a layered feed-forward graph has no triangles)."""
    core = g.subgraph(max(nx.connected_components(g), key=len)).copy()
    n, m = core.number_of_nodes(), core.number_of_edges()
    out = {"nodes": n, "edges": m}
    if n < 4 or m < 4:
        return {**out, "clustering": None, "path_length": None, "sigma": None, "omega": None}
    c, l = _c_and_l(core)
    rand = []
    for k in range(n_ref):
        r = core.copy()
        nx.double_edge_swap(r, nswap=swaps_per_edge * m, max_tries=100 * swaps_per_edge * m, seed=seed + k)
        rand.append(_c_and_l(r))
    cr, lr = np.mean(rand, axis=0)
    degree = max(2, min(n - 1, 2 * round(m / n)))          # even, as a ring lattice needs
    cl = nx.average_clustering(nx.watts_strogatz_graph(n, degree, 0.0))
    sigma = (c / cr) / (l / lr) if cr > 0 else None
    omega = lr / l - c / cl if cl > 0 else None
    return {**out, "clustering": c, "path_length": l, "clustering_random": float(cr), "path_length_random": float(lr),
            "clustering_lattice": cl, "sigma": sigma, "omega": omega}


def modularity(g: nx.Graph, seed: int = 0) -> tuple[float, list[set[int]]]:
    """Q of the Louvain partition weighted by |w| (seeded), and the communities."""
    communities = nx.community.louvain_communities(g, weight="weight", seed=seed)
    return nx.community.modularity(g, communities, weight="weight"), communities


def locality(weight: np.ndarray, distance: np.ndarray, k: int = 8) -> dict:
    """Dense [N_pre, N_post] |w| and distances: Spearman correlation of |w| with distance, and the mean share of each
    target's incoming |w| that comes from its k nearest sources (chance: k / N_pre; None when k >= N_pre / 2, where
    the share says nothing: a 5-channel input has no 8 nearest)."""
    w, d = np.abs(weight), distance
    rho = spearmanr(w.ravel(), d.ravel()).statistic
    if 2 * k >= d.shape[0]:
        return {"spearman_w_distance": float(rho), "knn_weight_share": None, "knn_chance": None, "k": k}
    nearest = np.argsort(d, axis=0)[:k]                              # [k, N_post]
    near_w = np.take_along_axis(w, nearest, axis=0).sum(0)
    total = w.sum(0)
    share = near_w[total > 0] / total[total > 0]
    return {"spearman_w_distance": float(rho), "knn_weight_share": float(share.mean()) if share.size else None,
            "knn_chance": k / d.shape[0], "k": k}
