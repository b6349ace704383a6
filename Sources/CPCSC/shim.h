// PC/SC (pcsc-lite) headers, found through pkg-config libpcsclite (-I/usr/include/PCSC).
#include <winscard.h>
#include <reader.h>
