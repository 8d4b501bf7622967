"""Reading items to judge from files, with column mapping and validation before any model call."""

from .load import (
    ABSENT,
    LabelDecoder,
    LoadedData,
    describe_labels,
    load_items,
    lookup,
    parse_field_map,
    parse_label_map,
    remap,
    select_items,
)

__all__ = [
    "ABSENT",
    "LabelDecoder",
    "LoadedData",
    "describe_labels",
    "load_items",
    "lookup",
    "parse_field_map",
    "parse_label_map",
    "remap",
    "select_items",
]
