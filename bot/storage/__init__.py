"""Storage: the contract (base.py) and its backends; only the composition root picks one."""

from bot.storage.base import Storage, StorageCorruptError

__all__ = ["Storage", "StorageCorruptError"]
