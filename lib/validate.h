/* SPDX-License-Identifier: Apache-2.0 */
/* The API server's validation rules, applied to a loaded cluster. */
#ifndef PW_VALIDATE_H
#define PW_VALIDATE_H

#include "model.h"

/*
 * Validates every object of c as the API server would and fills the
 * parsed values the model keeps beside the text (CIDRs, protocols,
 * effective policyTypes). Problems go to d with their field path.
 * Returns the number of errors found, or -ENOMEM.
 * Called by pw_cluster_finalize() after sorting.
 */
int pw_validate_cluster(struct pw_cluster *c, struct pw_diags *d);

#endif
