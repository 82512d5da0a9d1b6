"""Entropy coding of integer symbols and the ``.cpz`` container (see ``docs/format.md``).

- :class:`CdfTables`: integer CDF tables, quantized once from float pmfs and stored as int32 arrays.
- :class:`SymbolEncoder` / :class:`SymbolDecoder`: range coding of symbol arrays, each symbol with
  its own table; :func:`estimate_bits`: the ideal code length of the same symbols.
- :class:`CpzHeader`, :func:`pack`, :func:`unpack`, :func:`is_cpz`: the file around the streams.
"""

from convpress.coding.container import CpzHeader, ModelFamily, is_cpz, pack, unpack, weights_hash
from convpress.coding.rangecoder import SymbolDecoder, SymbolEncoder, estimate_bits
from convpress.coding.tables import CdfTables

__all__ = [
    "CdfTables",
    "CpzHeader",
    "ModelFamily",
    "SymbolDecoder",
    "SymbolEncoder",
    "estimate_bits",
    "is_cpz",
    "pack",
    "unpack",
    "weights_hash",
]
