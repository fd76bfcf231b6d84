// SPDX-License-Identifier: GPL-2.0
/* tlstap's kernel side. One compilation unit (one skeleton); each concern in its header. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tlstap/abi.h"

#include "maps.bpf.h"
#include "filter.bpf.h"
#include "calls.bpf.h"
#include "conn.bpf.h"
#include "capture.bpf.h"
#include "tls_calls.bpf.h"
#include "go_tls.bpf.h"
#include "process.bpf.h"

/* bpf_probe_read_user and the tracing helpers are GPL-only. */
char LICENSE[] SEC("license") = "GPL";
