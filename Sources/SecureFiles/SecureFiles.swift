// SecureFiles: O_EXCL writes, atomic replace, permission checks, media bundle directories.
