#pragma once
// A small C shim over a dlopen'ed PKCS#11 module.
//
// Why raw PKCS#11 rather than libp11: libp11 0.4.12 only offers the deprecated, RSA-only
// PKCS11_generate_key, which sets CKA_DECRYPT and CKA_UNWRAP and leaves CKA_EXTRACTABLE to the
// token's default, so the exact key templates of docs/ceremony.md#key-generation-templates need C_GenerateKeyPair directly.
//
// Every wrapper returns the module's CK_RV unchanged (or CKR_FUNCTION_NOT_SUPPORTED when the
// module's function list has a NULL entry), so the Swift side translates return codes in one place
// and never has to unwrap a C function pointer.
#include <stddef.h>
#include <p11-kit/pkcs11.h>

/// dlopen()s `path` and calls C_GetFunctionList. On failure returns NULL and writes a message
/// (dlerror() or the CK_RV) into `error`.
void *cpkcs11_load(const char *path, CK_FUNCTION_LIST_PTR *functions, char *error, size_t error_len);
/// dlclose()s a handle returned by cpkcs11_load.
void cpkcs11_unload(void *handle);

/// C_Initialize with CKF_OS_LOCKING_OK (the module may use the OS's own locking primitives; we
/// call it from several threads, one session at a time).
CK_RV cpkcs11_initialize(CK_FUNCTION_LIST_PTR f);
CK_RV cpkcs11_finalize(CK_FUNCTION_LIST_PTR f);
CK_RV cpkcs11_get_slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL token_present, CK_SLOT_ID *slots, CK_ULONG *count);
CK_RV cpkcs11_get_token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_TOKEN_INFO *info);
CK_RV cpkcs11_get_mechanism_list(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV cpkcs11_get_mechanism_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
CK_RV cpkcs11_open_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_SESSION_HANDLE *session);
CK_RV cpkcs11_close_session(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session);
CK_RV cpkcs11_login_user(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, const unsigned char *pin, CK_ULONG pin_len);
CK_RV cpkcs11_logout(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session);
CK_RV cpkcs11_generate_key_pair(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_MECHANISM_TYPE mechanism,
                                CK_ATTRIBUTE *pub, CK_ULONG pub_count, CK_ATTRIBUTE *priv, CK_ULONG priv_count,
                                CK_OBJECT_HANDLE *pub_key, CK_OBJECT_HANDLE *priv_key);
/// C_FindObjectsInit, C_FindObjects until exhausted (at most `capacity` handles), C_FindObjectsFinal.
CK_RV cpkcs11_find_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count,
                           CK_OBJECT_HANDLE *found, CK_ULONG capacity, CK_ULONG *found_count);
CK_RV cpkcs11_get_attribute_value(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE *tmpl, CK_ULONG count);
/// C_SignInit + C_Sign (two-call size query) with a parameterless mechanism.
CK_RV cpkcs11_sign(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE key,
                   const unsigned char *data, CK_ULONG data_len, unsigned char *signature, CK_ULONG *signature_len);
/// C_CreateObject with the caller's template (data objects: CKO_DATA).
CK_RV cpkcs11_create_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count,
                            CK_OBJECT_HANDLE *object);
/// C_SetAttributeValue (e.g. a data object's CKA_VALUE; the object must be CKA_MODIFIABLE).
CK_RV cpkcs11_set_attribute_value(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE *tmpl, CK_ULONG count);
CK_RV cpkcs11_destroy_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object);
