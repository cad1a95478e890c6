# Keras 3.12+ on torch imports keras.src.tree.torchtree_impl (torch.utils._pytree) as its tree
# implementation; load optree_impl's code under that name instead, before anything registers a node
# class, so that this interpreter's Keras runs with the tree implementation 3.11 used. Used by putting
# this directory first on PYTHONPATH (README, 'Breaks the matrix found': the torch slowdown's cause).
import importlib.abc
import importlib.util
import sys


class _OptreeForTorchtree(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "keras.src.tree.torchtree_impl":
            return None
        for entry in path or []:
            spec = importlib.util.spec_from_file_location(name, f"{entry}/optree_impl.py")
            if spec is not None:
                return spec
        return None


sys.meta_path.insert(0, _OptreeForTorchtree())
