/* The contract between the BPF programs and user space.
 *
 * C only, fixed-width types, every event starts with `struct tlstap_event_header` and
 * variable data comes last. The C++ side static_asserts the layout (src/capture/abi_check.h)
 * so a change here that is not made on both sides fails the build, not a trace.
 */
#ifndef TLSTAP_ABI_H
#define TLSTAP_ABI_H

#ifdef __bpf__
/* vmlinux.h provides __u8..__u64 on the BPF side. */
#else
#include <linux/types.h>
#endif

/* Bytes of call data carried by one ring-buffer chunk. A call larger than this is sent as
 * several chunks with the same call_id and increasing offsets; user space reassembles. */
#define TLSTAP_CHUNK_BYTES 16384u

/* Upper bound for --max-bytes, so the BPF copy loop has a verifiable bound. */
#define TLSTAP_MAX_CAPTURE_BYTES (256ull << 20)
#define TLSTAP_MAX_CHUNKS_PER_CALL (TLSTAP_MAX_CAPTURE_BYTES / TLSTAP_CHUNK_BYTES)

#define TLSTAP_COMM_LEN 16

/* Most --port filters BPF checks. */
#define TLSTAP_MAX_PORT_FILTERS 16

enum tlstap_event_kind {
  TLSTAP_EVENT_DATA = 1,    /* a chunk of plaintext from one SSL call */
  TLSTAP_EVENT_EXEC = 2,    /* a process called execve: look at its new executable */
  TLSTAP_EVENT_MMAP = 3,    /* a process mapped a file executable: look at its maps */
  TLSTAP_EVENT_EXIT = 4,    /* a whole process (thread group) exited */
  TLSTAP_EVENT_CLOSE = 5,   /* a traced connection's fd was closed */
  TLSTAP_EVENT_UNIX_NAMES = 6, /* a Unix socket connection's paths, read while it is alive */
  TLSTAP_EVENT_SSL_BOUND = 7,  /* a memory-BIO SSL* was matched to its socket (conn.bpf.h) */
};

/* The bpf_cookie user space attaches each TLS function's entry probe with: all the generic
 * probes (bpf/tls_calls.bpf.h) need to know of the function, from its stack's descriptor
 * (src/stacks/). */
enum tlstap_probe_cookie {
  TLSTAP_COOKIE_FUNCTION_MASK = 0xff, /* function id reported in data events (src/stacks/) */
  TLSTAP_COOKIE_WRITE = 1u << 8,      /* plaintext the process sends; else what it receives */
  TLSTAP_COOKIE_MOVED_OUT = 1u << 9,  /* returns 1 and stores the count at *arg4 (SSL_*_ex) */
  TLSTAP_COOKIE_RETURNS_64BIT = 1u << 10, /* the count is a 64-bit return (ssize_t), not int */
  /* Report only calls on sessions seen moving TLS records (NSPR's PR_Write also writes plain
   * files and sockets). */
  TLSTAP_COOKIE_ONLY_TLS_SESSIONS = 1u << 11,
  /* The buffer argument is an array of NSPR PRIOVec {char* iov_base; int iov_len} and the
   * length argument their count (PR_Writev): the bytes moved are taken from them in order. */
  TLSTAP_COOKIE_PR_IO_VECTOR = 1u << 12,
  /* Sends what earlier calls on the session queued (gnutls_record_uncork): not reported, and
   * a write of the same session inside it is that queue, not new plaintext (calls.bpf.h). */
  TLSTAP_COOKIE_FLUSH = 1u << 13,
};

/* Most elements of a PRIOVec array NSPR accepts (PR_MAX_IOVECTOR_SIZE). */
#define TLSTAP_MAX_PR_IO_VECTOR 16

enum tlstap_direction {
  TLSTAP_DIR_READ = 0,  /* plaintext the process received */
  TLSTAP_DIR_WRITE = 1, /* plaintext the process sent */
};

/* Flags on a data chunk. */
enum tlstap_chunk_flags {
  /* bpf_probe_read_user failed (page not resident): capture of this call stops here. */
  TLSTAP_CHUNK_READ_FAULT = 1u << 0,
};

/* Flags on a call (same in every chunk of it). */
enum tlstap_call_flags {
  /* The first call tlstap saw on a connection older than tlstap, made by a thread that had
   * just received on that socket outside any call tlstap saw: a read that was already in
   * flight when tlstap attached returned unseen, and its bytes are not in any record. */
  TLSTAP_CALL_AFTER_UNSEEN_READ = 1u << 0,
  /* Not a call's bytes: a call whose entry tlstap did not see (in flight when tlstap attached)
   * returned having moved call_len bytes, none captured. Only where the return says how many
   * without the entry's arguments (Go's RET probes: n in RAX). One event, no chunk follows; no
   * connection (the receiver is gone at the RET). */
  TLSTAP_CALL_RETURNED_UNSEEN = 1u << 1,
};

/* Flags on a connection. */
enum tlstap_conn_flags {
  /* tlstap did not see the connection begin (a TCP connection established, or a Unix socket
   * connected or accepted, before tracing started): earlier bytes were not seen, and `pos`
   * counts from the first byte tlstap saw. */
  TLSTAP_CONN_MIDSTREAM = 1u << 0,
  /* The SSL* does no socket I/O of its own (a memory BIO): its socket was found as the one the
   * same thread sent the SSL_write's ciphertext to right after the call (conn.bpf.h). */
  TLSTAP_CONN_MEMORY_BIO = 1u << 1,
};

/* The connection an SSL call ran on, learned from the socket syscalls the thread made inside
 * the call (no OpenSSL struct offsets) and remembered per SSL*. */
struct tlstap_conn_info {
  __s32 fd;       /* -1: not known (e.g. a memory BIO not matched to its socket yet) */
  __u16 family;   /* AF_INET, AF_INET6, AF_UNIX; 0: not known */
  __u16 lport;    /* host byte order */
  __u16 rport;
  __u16 role;     /* enum tlstap_role */
  __u16 flags;    /* enum tlstap_conn_flags */
  __u16 reserved;
  __u32 netns;    /* inode of the socket's network namespace; 0: not known */
  __u32 reserved2;
  __u8 laddr[16]; /* IPv4 in the first 4 bytes */
  __u8 raddr[16];
};

/* Who opened the connection: for TCP from the socket's own state change to ESTABLISHED (from
 * SYN_SENT: client; from SYN_RECV: server), for Unix sockets from the connect/accept that made
 * the fd. 0 when tlstap did not see it (a connection older than tlstap): user space then
 * decides from the listening sockets it found at start. */
enum tlstap_role {
  TLSTAP_ROLE_UNKNOWN = 0,
  TLSTAP_ROLE_CLIENT = 1,
  TLSTAP_ROLE_SERVER = 2,
};

struct tlstap_event_header {
  __u32 kind; /* enum tlstap_event_kind */
  __u32 pid;  /* thread group id */
};

struct tlstap_data_event {
  struct tlstap_event_header header;
  __u32 tid;
  __u32 uid;
  __u64 call_id;      /* unique per traced call for the life of the loaded programs */
  __u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) at the return of the call */
  __u64 entry_ns;     /* CLOCK_MONOTONIC at its entry; 0 when the entry was not seen */
  __u64 ssl;          /* the SSL* the call was made on (connection key, issue 3) */
  __u64 call_len;     /* bytes the call really transferred */
  __u64 capture_len;  /* bytes BPF tries to copy for this call: min(call_len, max_bytes) */
  __u64 offset;       /* offset of this chunk's first byte within the call */
  __u32 chunk_len;    /* bytes in data[] */
  __u8 function;      /* function id: TLSTAP_COOKIE_FUNCTION_MASK of the probe's cookie */
  __u8 direction;     /* enum tlstap_direction */
  __u8 flags;         /* enum tlstap_chunk_flags */
  __u8 call_flags;    /* enum tlstap_call_flags */
  __u64 pos;          /* bytes this connection moved in this direction before the call */
  __u64 start_time_ns; /* the process's start (boot-time clock), read from its task */
  struct tlstap_conn_info conn;
  char comm[TLSTAP_COMM_LEN];
  __u8 data[TLSTAP_CHUNK_BYTES];
};

/* Size of the data event without its data[]; chunks are sent with exactly header+chunk_len. */
#define TLSTAP_DATA_EVENT_HEADER_BYTES ((unsigned long)&((struct tlstap_data_event *)0)->data)

struct tlstap_process_event {
  struct tlstap_event_header header;
  __u32 ppid;
  __u32 reserved;
  __u64 ts_ns; /* CLOCK_MONOTONIC of the event (an exit closes the process's connections) */
};

struct tlstap_close_event {
  struct tlstap_event_header header;
  __u64 ssl;
  __u64 ts_ns;         /* CLOCK_MONOTONIC of the close */
  __u64 start_time_ns; /* the process's start (boot-time clock) */
  __u64 bytes[2];      /* indexed by enum tlstap_direction */
  struct tlstap_conn_info conn;
};

/* A memory-BIO SSL* whose socket was found: its earlier records (sent without a connection)
 * and its later ones belong to `conn`. */
struct tlstap_ssl_bound_event {
  struct tlstap_event_header header;
  __u64 ssl;
  __u64 start_time_ns;
  struct tlstap_conn_info conn;
};

#define TLSTAP_UNIX_PATH_LEN 108

/* Sent once per SSL* on a Unix socket, before its first data event: the paths are read in
 * the kernel because the socket may be gone by the time user space could look. An abstract
 * name is shown with a leading '@'; an unbound socket has an empty name. */
struct tlstap_unix_names_event {
  struct tlstap_event_header header;
  __s32 fd;
  __u32 reserved;
  __u64 ssl;
  char local[TLSTAP_UNIX_PATH_LEN];
  char peer[TLSTAP_UNIX_PATH_LEN];
};

/* Per-CPU loss counters, indexed by enum tlstap_loss_slot in the `losses` map. */
struct tlstap_loss_counters {
  __u64 events; /* calls of which at least one chunk was not delivered */
  __u64 bytes;  /* bytes of call data not delivered */
  __u64 process_events; /* exec/mmap/exit notifications dropped (discovery may be late) */
};

#endif /* TLSTAP_ABI_H */
