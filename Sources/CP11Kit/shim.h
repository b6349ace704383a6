// The PKCS#11 v2.40 header as shipped by p11-kit (libp11-kit-dev), found through
// `pkg-config --cflags p11-kit-1` (-I/usr/include/p11-kit-1). A system-library target is used
// instead of `unsafeFlags` because SwiftPM propagates pkg-config include paths to every target
// that depends on it (the C shim, the Swift wrapper and its tests), and unsafe flags would not.
// Nothing is linked: the PKCS#11 module is dlopen'ed at run time (see CPKCS11).
#include <p11-kit/pkcs11.h>
