"""Reading items to judge from files, with column mapping and validation before any model call."""

from .load import (
    LoadedData,
    describe_labels,
    load_items,
    parse_field_map,
    parse_label_map,
    remap,
    select_items,
)

__all__ = [
    "LoadedData",
    "describe_labels",
    "load_items",
    "parse_field_map",
    "parse_label_map",
    "remap",
    "select_items",
]
