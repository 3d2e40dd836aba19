// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for manifest reading: the bytes go through the whole
 * load path (YAML, strict decoding) and finalize (implicit namespaces,
 * sorting, duplicates, validation). Any input must end in a clean result
 * or clean diagnostics, never a crash, a leak or a hang.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <podwall/podwall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	char buf[256];
	int ret;

	if (!c || !d)
		goto out_free;
	ret = pw_cluster_load_buffer(c, "fuzz.yaml", (const char *)data, size,
				     d);
	if (ret != -ENOMEM)
		pw_cluster_finalize(c, d);
	/* the records must be well-formed enough to print */
	for (size_t i = 0; i < pw_diags_count(d); i++)
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
out_free:
	pw_diags_free(d);
	pw_cluster_free(c);
	return 0;
}
