#pragma once
// Placeholder until the PKCS#11 shim lands (issue 2).
int cpkcs11_placeholder(void);
