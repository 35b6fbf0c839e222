"""Configuration: schema (:mod:`.model`) and loading with line-accurate errors (:mod:`.loader`)."""

from .loader import LoadedConfig, load_config
from .model import Config

__all__ = ["Config", "LoadedConfig", "load_config"]
