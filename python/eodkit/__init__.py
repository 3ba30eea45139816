"""eodkit: read datasets built by `eodkit build` from Python.

    import eodkit
    ds = eodkit.open("examples/out/olinda")
    train = ds.split("train")
    batch = train.read([0, 5, 7])        # {"optical": (3, 6, 32, 32), "label": (3, 32, 32)}

NumPy only; the PyTorch parts live in `eodkit.torch` (import it when you
need it). The API reference with examples is doc/python.md.
"""
from .dataset import Dataset, DatasetError, Split
from .normalize import Normalizer

__version__ = "0.1.0"
__all__ = ["open", "Dataset", "DatasetError", "Split", "Normalizer", "__version__"]


def open(path):  # noqa: A001 - shadows the built-in only as eodkit.open
    """Open the dataset folder PATH (what `eodkit build` wrote) and return
    a `Dataset`. Raises `DatasetError` naming PATH when it does not exist,
    is an unfinished build (holds `.eodkit-partial`, or only `PATH.partial`
    exists) or is not an eodkit dataset."""
    return Dataset(path)
