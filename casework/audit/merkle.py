"""Merkle tree hashing of RFC 6962 (Certificate Transparency), as transparency logs use it.

Leaves hash as SHA-256(0x00 || data), inner nodes as SHA-256(0x01 || left || right); the tree of
n leaves splits at the largest power of two below n. A :class:`Frontier` (the roots of the
perfect subtrees along the right edge, at most 64) extends a tree leaf by leaf and gives its
root at any size, so a sequencer extends the tree and a verifier recomputes it in one pass
without keeping the leaves. Inclusion proofs (audit paths) follow RFC 9162 section 2.1.3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a Merkle tree: (height, hash) of its perfect subtrees, largest first."""

    def __init__(self, nodes: Sequence[tuple[int, bytes]] = (), size: int = 0) -> None:
        self.nodes: list[tuple[int, bytes]] = list(nodes)
        self.size = size

    def append(self, leaf: bytes) -> None:
        """Add the leaf whose hash is ``leaf`` (already :func:`leaf_hash`-ed)."""
        self.nodes.append((0, leaf))
        self.size += 1
        while len(self.nodes) >= 2 and self.nodes[-1][0] == self.nodes[-2][0]:
            (height, right), (_, left) = self.nodes.pop(), self.nodes.pop()
            self.nodes.append((height + 1, node_hash(left, right)))

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1][1]
        for _height, left in reversed(self.nodes[:-1]):
            root = node_hash(left, root)
        return root

    def dump(self) -> list[list[object]]:
        return [[height, digest.hex()] for height, digest in self.nodes]

    @classmethod
    def load(cls, nodes: Sequence[Sequence[object]], size: int) -> Frontier:
        """Raises ValueError when ``nodes`` are not the frontier of a tree of ``size`` leaves."""
        loaded = [(int(str(height)), bytes.fromhex(str(digest))) for height, digest in nodes]
        if sum(1 << height for height, _ in loaded) != size:
            raise ValueError("the frontier does not describe a tree of this size")
        return cls(loaded, size)


def subtree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of RFC 6962 over leaf hashes."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def audit_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, leaves) of RFC 6962: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError("leaf index outside the tree")
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*audit_path(index, leaves[:split]), subtree_root(leaves[split:])]
    return [*audit_path(index - split, leaves[split:]), subtree_root(leaves[:split])]


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``path`` prove leaf ``leaf`` at ``index`` in the tree of ``size``
    leaves with root ``root``?"""
    if index >= size:
        return False
    fn, sn, digest = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and digest == root
