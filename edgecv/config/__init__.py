"""Configuration: one pydantic model per concern under a pydantic-settings root."""

from .sections import DetectConfig, LogConfig, ModelConfig, OutputConfig, SourceConfig
from .settings import CONFIG_ENV, ENV_PREFIX, Settings, check_environment, load_settings, read_config_file

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "DetectConfig",
    "LogConfig",
    "ModelConfig",
    "OutputConfig",
    "Settings",
    "SourceConfig",
    "check_environment",
    "load_settings",
    "read_config_file",
]
