#pragma once
// prctl(2) is variadic and so not callable from Swift; this shim exposes the one call we need.

/// prctl(PR_SET_DUMPABLE, value): 0 forbids core dumps and ptrace/proc access by other users.
int rootkeeper_set_dumpable(int value);

/// prctl(PR_GET_DUMPABLE).
int rootkeeper_get_dumpable(void);

/// lgetxattr(path, "system.posix_acl_access", buffer, size): the file's POSIX access ACL in the
/// kernel's xattr encoding (sys/xattr.h is not part of Swift's Glibc module). Plain C types only:
/// this header must not re-export system typedefs such as uid_t (ApplianceKit imports it internally).
long rootkeeper_access_acl(const char *path, void *buffer, unsigned long size);
