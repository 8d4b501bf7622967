"""The package version, in a module of its own: modules that record it (run headers, audit manifests) import it
from here, never from the package root, which imports them. pyproject.toml reads it from here too."""

__version__ = "0.1.0"
