// Build facts embedded at compile time. scripts/release.sh exports ROOTKEEPER_VERSION,
// ROOTKEEPER_COMMIT and ROOTKEEPER_BUILD_DATE; Package.swift turns them into -D defines for this
// one C file only, so a new commit recompiles this file and relinks, nothing else. A developer
// build (no such variables) reports "dev". Nothing is looked up at run time (no git, no network).
#include "build_info.h"

#ifndef ROOTKEEPER_VERSION
#define ROOTKEEPER_VERSION "dev"
#endif
#ifndef ROOTKEEPER_COMMIT
#define ROOTKEEPER_COMMIT "dev"
#endif
#ifndef ROOTKEEPER_BUILD_DATE
#define ROOTKEEPER_BUILD_DATE "dev"
#endif

const char *rootkeeper_build_version(void) { return ROOTKEEPER_VERSION; }
const char *rootkeeper_build_commit(void) { return ROOTKEEPER_COMMIT; }
const char *rootkeeper_build_date(void) { return ROOTKEEPER_BUILD_DATE; }
