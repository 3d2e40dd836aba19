/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the
 * format code-scanning services read: lint findings as one run of the
 * podwall tool, with the rule catalogue as tool.driver.rules.
 */
#ifndef PODWALL_CMD_SARIF_H
#define PODWALL_CMD_SARIF_H

#include <stdio.h>
#include <podwall/lint.h>

/* Writes the findings of l (suppressed ones with their suppressions) as
 * a SARIF log to f. */
void sarif_print(const struct pw_lint *l, FILE *f);

#endif
