// PKCS11 module: see DESIGN.md §1.
