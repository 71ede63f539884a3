"""OneWindow (一网通办): a single-window e-government service platform."""

__version__ = "0.1.0"
