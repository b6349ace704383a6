int cpkcs11_placeholder(void) { return 0; }
