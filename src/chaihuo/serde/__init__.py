"""The only way objects cross a party boundary: a closed, tag-keyed binary codec (no pickle)."""

from chaihuo.serde._codec import MAGIC, Tag, dumps, loads
from chaihuo.serde._errors import PayloadTooLargeError, SerdeError, UnsupportedTypeError
from chaihuo.serde._limits import Keyring, SerdeLimits
from chaihuo.serde._table_meta import TableMeta

__all__ = [
    "MAGIC",
    "Keyring",
    "PayloadTooLargeError",
    "SerdeError",
    "SerdeLimits",
    "TableMeta",
    "Tag",
    "UnsupportedTypeError",
    "dumps",
    "loads",
]
