"""Media on its way to the object store: the local spool and the uploader."""
