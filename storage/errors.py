"""Storage errors. Backends map their library's exceptions to these, once, at their boundary.

StorageError
├── InvalidKey            the key is unsafe or malformed (caller's bug: do not retry)
├── ObjectNotFound        no object under that key
└── StorageUnavailable    the store is down, full or unreachable (retry later)
"""


class StorageError(Exception):
    """Base of every storage failure."""


class InvalidKey(StorageError, ValueError):
    """The object key is not allowed."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class StorageUnavailable(StorageError):
    """The store cannot be used right now; the operation may succeed later."""
