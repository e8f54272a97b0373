/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The user-creatable object classes, one file each. */
#ifndef WARDEN_OBJECTS_H
#define WARDEN_OBJECTS_H

#include "runtime/object.h"

extern const WdObjectClass wd_secret_class;
extern const WdObjectClass wd_authz_simple_class;
extern const WdObjectClass wd_authz_list_class;
extern const WdObjectClass wd_authz_listfile_class;
extern const WdObjectClass wd_tls_creds_x509_class;
extern const WdObjectClass wd_tls_creds_anon_class;
extern const WdObjectClass wd_tls_creds_psk_class;
extern const WdObjectClass wd_nbd_server_class;

/* Register every class above (once, at startup). */
void wd_objects_register_all(void);

#endif
