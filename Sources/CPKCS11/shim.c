#include "CPKCS11.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define CALL(f, name, ...) \
    ((f) == NULL || (f)->name == NULL ? CKR_FUNCTION_NOT_SUPPORTED : (f)->name(__VA_ARGS__))

void *cpkcs11_load(const char *path, CK_FUNCTION_LIST_PTR *functions, char *error, size_t error_len) {
    *functions = NULL;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *message = dlerror();
        snprintf(error, error_len, "%s", message ? message : "dlopen failed");
        return NULL;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
    if (get == NULL) {
        snprintf(error, error_len, "%s does not export C_GetFunctionList", path);
        dlclose(handle);
        return NULL;
    }
    CK_RV rv = get(functions);
    if (rv != CKR_OK || *functions == NULL) {
        snprintf(error, error_len, "C_GetFunctionList returned 0x%lx", (unsigned long)rv);
        dlclose(handle);
        *functions = NULL;
        return NULL;
    }
    return handle;
}

void cpkcs11_unload(void *handle) {
    if (handle != NULL) dlclose(handle);
}

CK_RV cpkcs11_initialize(CK_FUNCTION_LIST_PTR f) {
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    return CALL(f, C_Initialize, &args);
}

CK_RV cpkcs11_finalize(CK_FUNCTION_LIST_PTR f) { return CALL(f, C_Finalize, NULL); }

CK_RV cpkcs11_get_slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL token_present, CK_SLOT_ID *slots, CK_ULONG *count) {
    return CALL(f, C_GetSlotList, token_present, slots, count);
}

CK_RV cpkcs11_get_token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_TOKEN_INFO *info) {
    return CALL(f, C_GetTokenInfo, slot, info);
}

CK_RV cpkcs11_get_mechanism_list(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count) {
    return CALL(f, C_GetMechanismList, slot, list, count);
}

CK_RV cpkcs11_get_mechanism_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info) {
    return CALL(f, C_GetMechanismInfo, slot, type, info);
}

CK_RV cpkcs11_open_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_SESSION_HANDLE *session) {
    return CALL(f, C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, session);
}

CK_RV cpkcs11_close_session(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session) {
    return CALL(f, C_CloseSession, session);
}

CK_RV cpkcs11_login_user(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, const unsigned char *pin, CK_ULONG pin_len) {
    return CALL(f, C_Login, session, CKU_USER, (unsigned char *)pin, pin_len);
}

CK_RV cpkcs11_logout(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session) { return CALL(f, C_Logout, session); }

CK_RV cpkcs11_generate_key_pair(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_MECHANISM_TYPE mechanism,
                                CK_ATTRIBUTE *pub, CK_ULONG pub_count, CK_ATTRIBUTE *priv, CK_ULONG priv_count,
                                CK_OBJECT_HANDLE *pub_key, CK_OBJECT_HANDLE *priv_key) {
    CK_MECHANISM mech = {mechanism, NULL, 0};
    return CALL(f, C_GenerateKeyPair, session, &mech, pub, pub_count, priv, priv_count, pub_key, priv_key);
}

CK_RV cpkcs11_find_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count,
                           CK_OBJECT_HANDLE *found, CK_ULONG capacity, CK_ULONG *found_count) {
    *found_count = 0;
    CK_RV rv = CALL(f, C_FindObjectsInit, session, tmpl, count);
    if (rv != CKR_OK) return rv;
    while (*found_count < capacity) {
        CK_ULONG got = 0;
        rv = CALL(f, C_FindObjects, session, found + *found_count, capacity - *found_count, &got);
        if (rv != CKR_OK || got == 0) break;
        *found_count += got;
    }
    CK_RV final_rv = CALL(f, C_FindObjectsFinal, session);
    return rv != CKR_OK ? rv : final_rv;
}

CK_RV cpkcs11_get_attribute_value(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE *tmpl, CK_ULONG count) {
    return CALL(f, C_GetAttributeValue, session, object, tmpl, count);
}

CK_RV cpkcs11_sign(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE key,
                   const unsigned char *data, CK_ULONG data_len, unsigned char *signature, CK_ULONG *signature_len) {
    CK_MECHANISM mech = {mechanism, NULL, 0};
    CK_RV rv = CALL(f, C_SignInit, session, &mech, key);
    if (rv != CKR_OK) return rv;
    return CALL(f, C_Sign, session, (unsigned char *)data, data_len, signature, signature_len);
}

CK_RV cpkcs11_destroy_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object) {
    return CALL(f, C_DestroyObject, session, object);
}

CK_RV cpkcs11_create_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count,
                            CK_OBJECT_HANDLE *object) {
    return CALL(f, C_CreateObject, session, tmpl, count, object);
}
