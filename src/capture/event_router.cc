#include "capture/event_router.h"

#include "capture/abi_check.h"

namespace tlstap {

void EventRouter::on_event(const void* data, size_t size) {
  if (size < sizeof(tlstap_event_header)) {
    malformed_events_++;
    return;
  }
  const auto* header = static_cast<const tlstap_event_header*>(data);
  switch (header->kind) {
    case TLSTAP_EVENT_DATA: {
      if (size < kDataEventHeaderBytes) break;
      const auto* event = static_cast<const tlstap_data_event*>(data);
      if (event->chunk_len > TLSTAP_CHUNK_BYTES || kDataEventHeaderBytes + event->chunk_len > size)
        break;
      reassembler_.on_chunk(*event, {event->data, event->chunk_len});
      return;
    }
    case TLSTAP_EVENT_EXEC:
    case TLSTAP_EVENT_MMAP:
      if (size < sizeof(tlstap_process_event)) break;
      if (process_events_.changed) {
        process_events_.changed(static_cast<pid_t>(header->pid), header->kind == TLSTAP_EVENT_EXEC);
      }
      return;
    case TLSTAP_EVENT_EXIT:
      if (size < sizeof(tlstap_process_event)) break;
      if (process_events_.exited) {
        process_events_.exited(static_cast<pid_t>(header->pid),
                               static_cast<const tlstap_process_event*>(data)->ts_ns);
      }
      return;
    case TLSTAP_EVENT_CLOSE:
      if (size < sizeof(tlstap_close_event)) break;
      if (process_events_.connection_closed) {
        process_events_.connection_closed(*static_cast<const tlstap_close_event*>(data));
      }
      return;
    case TLSTAP_EVENT_UNIX_NAMES:
      if (size < sizeof(tlstap_unix_names_event)) break;
      if (process_events_.unix_names) {
        process_events_.unix_names(*static_cast<const tlstap_unix_names_event*>(data));
      }
      return;
    case TLSTAP_EVENT_SSL_BOUND:
      if (size < sizeof(tlstap_ssl_bound_event)) break;
      if (process_events_.ssl_bound) {
        process_events_.ssl_bound(*static_cast<const tlstap_ssl_bound_event*>(data));
      }
      return;
    default: break;
  }
  malformed_events_++;
}

}  // namespace tlstap
