#ifndef ROOTKEEPER_BUILD_INFO_H
#define ROOTKEEPER_BUILD_INFO_H

/// The release version, e.g. "1.0.0" or "v0.3-4-gabc1234"; "dev" in a developer build.
const char *rootkeeper_build_version(void);
/// The git commit the binary was built from (40 hex digits, "+dirty" when the tree had changes); "dev" otherwise.
const char *rootkeeper_build_commit(void);
/// The build date (the commit date, SOURCE_DATE_EPOCH, ISO 8601 UTC); "dev" otherwise.
const char *rootkeeper_build_date(void);

#endif
