// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for hs_etcd_parse, the one function that reads what an
 * etcd server sends. The first byte picks the message kind, the rest is the
 * body (not NUL-terminated, so ASan sees any read past its length). Besides
 * not crashing, results must be documented ones and parsed data consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_kv(const struct hs_etcd_kv *kv)
{
	/* Touch every byte so ASan checks the lengths; NUL after each. */
	volatile char sink = 0;

	for (size_t i = 0; i <= kv->key_len; i++)
		sink ^= kv->key[i];
	for (size_t i = 0; i <= kv->value_len; i++)
		sink ^= kv->value[i];
	if (!kv->key_len || kv->key[kv->key_len] || kv->value[kv->value_len] ||
	    kv->mod_revision < 0 || kv->create_revision < 0 || kv->version < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_etcd_resp r;
	int ret;

	if (!size)
		return 0;
	ret = hs_etcd_parse((enum hs_etcd_msg)(data[0] % (HS_ETCD_MSG_COUNT + 1)),
			    (const char *)data + 1, size - 1, &r);
	switch (ret) {
	case 0:
		if (r.revision < 0 || (r.n_kvs && !r.kvs) || (r.n_events && !r.events) ||
		    (uint64_t)r.count < r.n_kvs)
			abort();
		for (size_t i = 0; i < r.n_kvs; i++)
			check_kv(&r.kvs[i]);
		for (size_t i = 0; i < r.n_events; i++) {
			check_kv(&r.events[i].kv);
			if (r.events[i].kv.mod_revision <= 0)
				abort();
		}
		break;
	case -EPROTO:
		if (!r.why[0] || !memchr(r.why, '\0', sizeof(r.why)))
			abort();
		break;
	case -EREMOTEIO:
	case -ENOMEM:
		break;
	default:
		abort();
	}
	if (r.message && strlen(r.message) > 512)
		abort();
	hs_etcd_resp_free(&r);
	return 0;
}
