/* Maps and load-time configuration shared by all tlstap programs. */
#pragma once

/* Set by user space before load (skeleton rodata). */
const volatile __u64 max_capture_bytes = 1 << 20;
const volatile __u32 self_tgid = 0;      /* tlstap itself is never traced */
const volatile bool filter_by_pid = false; /* only tgids in traced_pids */
const volatile bool filter_by_uid = false;
const volatile __u32 filter_uid = 0;
const volatile bool filter_by_comm = false;
const volatile char filter_comm[TLSTAP_COMM_LEN] = {};
const volatile bool follow_children = false; /* add forked children of traced tgids */
const volatile __u32 port_filter_count = 0;  /* --port: either end must match */
const volatile __u16 port_filters[TLSTAP_MAX_PORT_FILTERS] = {};
/* Set by user space when tracing ends: calls that begin after it are not traced, so that the
 * final drain reads everything while the probes are removed in the background (removing a
 * uprobe takes the kernel a grace period each). */
volatile bool tracing_stopped = false;

/* Unconsumed ring bytes at which the reader is woken, and at which every event wakes it
 * (left at 0, every event wakes it). */
const volatile __u64 ring_wakeup_bytes = 0;
const volatile __u64 ring_urgent_bytes = 0;

/* Unique id of each traced call; chunks of one call share it. */
__u64 next_call_id = 1;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 24); /* resized by user space before load */
} events SEC(".maps");

/* tgids selected by --pid or by `-- COMMAND` (and its descendants when following). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} traced_pids SEC(".maps");

/* Arguments of an SSL call between its entry and its return. A thread can be inside several
 * calls at once: node runs JavaScript from OpenSSL's callbacks while inside SSL_read, and that
 * JavaScript writes (SSL_write on another or the same SSL*). Each is its own record, so each
 * gets its own frame, keyed by (thread, nesting level). */
#define TLSTAP_MAX_NESTED_CALLS 4
struct pending_call {
  __u64 ssl;
  __u64 buf;      /* the buffer; for TLSTAP_COOKIE_PR_IO_VECTOR, the PRIOVec array */
  __u64 len;      /* the length argument (elements of a vector), as wide as the return */
  __u64 size_out; /* size_t* of the _ex forms, 0 otherwise */
  __u64 entry_sp; /* stack pointer at entry: tells a nested call from a stale frame */
  __u32 same_op_depth; /* entries of the same operation inside this call (an API function
                        * implemented with another): reported by this, the outer, call */
  __u8 function;  /* id reported in data events */
  __u8 direction;
  /* The call handed its own buffer to a socket, TLS records in it: a plain socket layer (NSPR
   * I/O on a plain socket, maybe relaying someone's TLS), never a TLS layer (conn.bpf.h). */
  __u8 plain_io;
  __u32 cookie;   /* enum tlstap_probe_cookie */
  /* The call's own socket I/O (its first TLS record), if seen: the fd and struct sock. The
   * connection is described from them at the return, only when the SSL* has no socket yet. */
  __s32 io_fd;
  __u64 sk;
  __u64 recv_before; /* the socket the thread received from outside any call, just before */
  __u64 entry_ns;    /* bpf_ktime at the entry: a write's bytes left between it and the return */
};
struct frame_key {
  __u64 pid_tgid;
  __u32 level;
  __u32 reserved;
};
/* LRU so that a thread that never returns (killed mid-call) cannot fill the map. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct frame_key);
  __type(value, struct pending_call);
} pending_calls SEC(".maps");

/* Per thread of a process that uses TLS: how deep it is in SSL calls, and what its socket
 * I/O outside SSL calls says about memory-BIO connections and calls missed at attach. */
struct thread_state {
  __u32 depth;          /* frames in pending_calls */
  __u32 overflow;       /* calls entered beyond TLSTAP_MAX_NESTED_CALLS (not traced) */
  /* A memory-BIO SSL_write whose ciphertext has not left yet: the thread's next socket send
   * is checked against it (conn.bpf.h). 0: none. */
  __u64 flush_ssl;
  __u64 flush_len;      /* plaintext bytes of that write: its first record's length follows */
  __s32 io_fd;          /* fd of the I/O syscall the thread is in (maybe not a socket) */
  __s32 reserved;
  __u64 io_buf;         /* where that syscall's data starts in the thread's memory */
  __u64 io_len;         /* bytes at io_buf (the first buffer of a vectored call) */
  __u64 outside_recv_sk; /* the socket this thread last received from outside any SSL call */
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64); /* pid_tgid */
  __type(value, struct thread_state);
} threads SEC(".maps");

/* Processes that make TLS calls or have a TLS library mapped (set by user space at discovery
 * and by the first TLS call): only their threads' socket I/O outside calls is followed. The
 * value is when (bpf_ktime_get_ns) the probes of the files the process maps were attached, if
 * user space knows: a connection established before that may have carried TLS calls tlstap
 * did not see (a new executable or library attached a few ms after its exec or mmap). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u64);
} tls_processes SEC(".maps");

/* TCP sockets tlstap saw become ESTABLISHED: the role, from the state they came from. A socket
 * missing here was connected before tracing started. Keyed by struct sock*, so it holds in
 * every process that shares the socket (forked servers) and needs no /proc afterwards. */
struct sock_role {
  __u16 role;
  __u16 reserved[3];
  __u64 established_ns; /* bpf_ktime_get_ns when it became ESTABLISHED */
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 262144);
  __type(key, __u64);
  __type(value, struct sock_role);
} sock_roles SEC(".maps");

/* What tlstap knows of each SSL object: its connection and bytes per direction so far. */
struct ssl_key {
  __u32 tgid;
  __u32 reserved;
  __u64 ssl;
};
struct ssl_state {
  struct tlstap_conn_info conn;
  __u64 bytes[2];
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ssl_key);
  __type(value, struct ssl_state);
} ssl_states SEC(".maps");

/* fd -> SSL*, so that close(fd) finds the connection to report and forget. */
struct fd_key {
  __u32 tgid;
  __s32 fd;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct fd_key);
  __type(value, __u64);
} fd_ssl SEC(".maps");

/* fd -> enum tlstap_role, from the accept or connect that made the fd. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct fd_key);
  __type(value, __u16);
} fd_roles SEC(".maps");

/* Scratch space to build a chunk: too big for the 512-byte BPF stack. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tlstap_data_event);
} chunk_scratch SEC(".maps");

/* Where the copy of a vectored call (PR_Writev) is: in a map, not on the stack, because the
 * verifier tracks stack values through every bpf_loop iteration and cannot prove a loop that
 * changes them converges; values it reads from a map are just numbers. */
struct vector_cursor {
  __u64 piece;      /* where the rest of the current element starts */
  __u64 piece_left; /* bytes left in it */
  __u64 offset;     /* offset in the call of the next chunk */
  __u32 index;      /* the next element to start */
  __u32 count;      /* elements in the vector */
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vector_cursor);
} vector_cursors SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tlstap_loss_counters);
} losses SEC(".maps");

/* When each CPU last forced a wakeup of the reader. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} last_forced_wakeup SEC(".maps");

/* Flags for an event of `size` bytes about to be put in the ring. Waking the reader costs
 * the traced thread an inter-processor interrupt (in a VM, an exit to the hypervisor): more
 * than the rest of a small call's tracing. So events are left for the reader's periodic
 * drain, and the reader is woken by the event that takes the backlog across
 * ring_wakeup_bytes, long before the ring is full; it then drains until the ring is empty.
 * Two CPUs can race past the threshold without either seeing the crossing, so above it an
 * event also wakes the reader if its CPU has not done so for a millisecond, and past
 * ring_urgent_bytes every event does (a full ring could no longer wake anybody: a failed
 * reservation commits nothing). */
static __always_inline __u64 ring_wakeup_flags(__u64 size) {
  __u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  if (queued + size < ring_wakeup_bytes) return BPF_RB_NO_WAKEUP;
  if (queued + size >= ring_urgent_bytes) return BPF_RB_FORCE_WAKEUP;
  __u32 zero = 0;
  __u64 *last = bpf_map_lookup_elem(&last_forced_wakeup, &zero);
  __u64 now = bpf_ktime_get_ns();
  bool crossing = queued < ring_wakeup_bytes;
  if (last) {
    if (!crossing && now - *last < 1000000) return BPF_RB_NO_WAKEUP;
    *last = now;
  }
  return BPF_RB_FORCE_WAKEUP;
}

static __always_inline long ring_output(void *data, __u64 size) {
  return bpf_ringbuf_output(&events, data, size, ring_wakeup_flags(size));
}

static __always_inline struct tlstap_loss_counters *loss_counters(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&losses, &zero);
}
