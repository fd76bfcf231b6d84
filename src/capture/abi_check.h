// Compile-time check that the C++ side reads the BPF events with the layout BPF writes.
#pragma once

#include <cstddef>

#include "tlstap/abi.h"

static_assert(sizeof(tlstap_event_header) == 8);
static_assert(offsetof(tlstap_data_event, call_id) == 16);
static_assert(offsetof(tlstap_data_event, chunk_len) == 72);
static_assert(offsetof(tlstap_data_event, pos) == 80);
static_assert(offsetof(tlstap_data_event, start_time_ns) == 88);
static_assert(sizeof(tlstap_conn_info) == 56);
static_assert(offsetof(tlstap_data_event, conn) == 96);
static_assert(offsetof(tlstap_data_event, comm) == 152);
static_assert(offsetof(tlstap_data_event, data) == 168);
static_assert(sizeof(tlstap_close_event) == 104);
static_assert(sizeof(tlstap_ssl_bound_event) == 80);
static_assert(sizeof(tlstap_unix_names_event) == 240);
static_assert(offsetof(tlstap_data_event, data) % 8 == 0);
static_assert(sizeof(tlstap_process_event) == 24);
static_assert(sizeof(tlstap_loss_counters) == 24);

namespace tlstap {
inline constexpr size_t kDataEventHeaderBytes = offsetof(tlstap_data_event, data);
}
