/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the
 * format code-scanning services read: lint findings as one run of the
 * podwall tool, with the rule catalogue as tool.driver.rules.
 */
#ifndef PODWALL_CMD_SARIF_H
#define PODWALL_CMD_SARIF_H

#include <stdbool.h>
#include <stdio.h>
#include <podwall/lint.h>

struct json;

/* Writes the findings of l (suppressed ones with their suppressions) as
 * a SARIF log to f. */
void sarif_print(const struct pw_lint *l, FILE *f);
/* Writes f's witness as "witness": {"from", "to", "port"} into w, the
 * shape `lint -o json` and SARIF's properties share; false, writing
 * nothing, when f has none. */
bool finding_witness_json(struct json *w, const struct pw_finding *f);

#endif
