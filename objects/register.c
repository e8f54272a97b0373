/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Registers every user-creatable class with the object model. */
#include "objects/objects.h"

void wd_objects_register_all(void)
{
    static const WdObjectClass *const all[] = {
        &wd_secret_class,
        &wd_authz_simple_class,
        &wd_authz_list_class,
        &wd_authz_listfile_class,
        &wd_tls_creds_x509_class,
        &wd_tls_creds_anon_class,
        &wd_tls_creds_psk_class,
        &wd_nbd_server_class,
    };
    static gsize done;

    if (g_once_init_enter(&done)) {
        for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
            wd_object_register_class(all[i]);
        }
        g_once_init_leave(&done, 1);
    }
}
