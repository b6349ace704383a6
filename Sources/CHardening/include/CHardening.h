#pragma once
// prctl(2) is variadic and so not callable from Swift; this shim exposes the one call we need.

/// prctl(PR_SET_DUMPABLE, value): 0 forbids core dumps and ptrace/proc access by other users.
int rootkeeper_set_dumpable(int value);

/// prctl(PR_GET_DUMPABLE).
int rootkeeper_get_dumpable(void);
