"""Reading items to judge from files, with column mapping and validation before any model call."""

from .load import LoadedData, load_items, parse_field_map

__all__ = ["LoadedData", "load_items", "parse_field_map"]
