"""The embedded store's stand-in for the Neo4j full-text index: character bigrams of names,
the candidates a fuzzy search re-scores."""

from __future__ import annotations

from array import array

import numpy as np


def bigrams(text: str) -> set[str]:
    squeezed = "".join(text.lower().split())
    if len(squeezed) < 2:
        return {squeezed} if squeezed else set()
    return {squeezed[i:i + 2] for i in range(len(squeezed) - 1)}


def gram_code(gram: str) -> int:
    if len(gram) == 1:
        return ord(gram)
    return (ord(gram[0]) + 1) * 0x110000 + ord(gram[1])


class BigramIndex:
    """An in-memory stand-in for a full-text index over one list of texts: the texts sharing
    the most character bigrams with a needle (Dice coefficient, ties by position), the way
    the `cjk` analyzer of the Neo4j full-text index tokenises. Bounds a search's re-scoring.
    Postings are CSR int arrays keyed by a sorted array of integer bigram codes. A needle of
    one character shares it with every text holding that character (found by a scan)."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts
        codes = array("q")
        docs = array("i")
        sizes = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            grams = bigrams(text)
            sizes[i] = len(grams)
            codes.extend([(ord(g[0]) + 1) * 0x110000 + ord(g[1]) if len(g) == 2 else ord(g)
                          for g in grams])
            docs.extend([i] * len(grams))
        code_arr = np.frombuffer(codes, dtype=np.int64) if len(codes) else np.zeros(0, np.int64)
        doc_arr = np.frombuffer(docs, dtype=np.int32) if len(docs) else np.zeros(0, np.int32)
        order = np.argsort(code_arr, kind="stable")
        self._codes, starts = np.unique(code_arr[order], return_index=True)
        self._starts = np.append(starts, len(order)).astype(np.int64)
        self._docs = doc_arr[order]
        self._sizes = sizes

    def best(self, needle: str, pool: int) -> list[int]:
        """Positions of at most `pool` texts sharing a bigram with `needle`, ascending."""
        grams = bigrams(needle)
        if len(grams) == 1 and len(gram := next(iter(grams))) == 1:
            counts = np.fromiter((gram in "".join(t.lower().split()) for t in self._texts),
                                 dtype=np.int64, count=len(self._texts))
        else:
            lists = []
            for gram in grams:
                code = gram_code(gram)
                i = int(np.searchsorted(self._codes, code))
                if i < len(self._codes) and self._codes[i] == code:
                    lists.append(self._docs[self._starts[i]:self._starts[i + 1]])
            if not lists:
                return []
            counts = np.bincount(np.concatenate(lists), minlength=len(self._sizes))
        hit = np.flatnonzero(counts)
        if len(hit) > pool:
            # the `pool` best by (Dice desc, position asc) without sorting every hit: all
            # above the pool-th best Dice value, then the first of those tied with it
            dice = 2.0 * counts[hit] / (self._sizes[hit] + len(grams))
            kth = np.partition(dice, len(dice) - pool)[len(dice) - pool]
            above = hit[dice > kth]
            tied = hit[dice == kth][:pool - len(above)]
            hit = np.sort(np.concatenate([above, tied]))
        return hit.tolist()
