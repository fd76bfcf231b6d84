// SPDX-License-Identifier: GPL-2.0
/* The floor: entry and return uprobes that do nothing. Whatever a tracer's probes cost
 * beyond these (same functions, same number of probes) is the tracer's own work; the trap,
 * the uretprobe trampoline and the BPF dispatch are paid by any uprobe tracer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int empty_enter(void *ctx) { return 0; }

SEC("uretprobe")
int empty_return(void *ctx) { return 0; }

/* GPL like tlstap's object, so both are loaded under the same rules. */
char LICENSE[] SEC("license") = "GPL";
