#include "CHardening.h"
#include <sys/prctl.h>

int rootkeeper_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, value, 0, 0, 0); }

int rootkeeper_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#include <sys/xattr.h>

long rootkeeper_access_acl(const char *path, void *buffer, unsigned long size) {
    return lgetxattr(path, "system.posix_acl_access", buffer, size);
}
