// The pcapng blocks tlstap writes (draft-ietf-opsawg-pcapng): a Section Header, Interface
// Descriptions with nanosecond timestamps, and Enhanced Packets with a comment each. Blocks
// are appended to a caller's buffer in little-endian order (the Section Header's byte-order
// magic says so); no I/O here. libpcap (1.10 in Debian) writes pcapng without per-packet
// comments, hence this small writer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlstap::pcapng {

// Link types (tcpdump.org/linktypes.html) of the interfaces tlstap describes.
inline constexpr uint16_t kLinktypeRaw = 101;       // an IPv4 or IPv6 packet, no link header
inline constexpr uint16_t kLinktypeUpperPdu = 252;  // Wireshark's exported PDU

// Section Header Block: one per file; `user_application` goes in shb_userappl.
void append_section_header(std::string& out, std::string_view user_application);

// Interface Description Block with if_name and if_tsresol = 9 (timestamps in nanoseconds).
void append_interface(std::string& out, uint16_t link_type, std::string_view name);

// Enhanced Packet Block on interface `interface_id`, timestamp in ns since the Unix epoch,
// the whole packet captured (captured length = original length), comment opt_comment
// (left out when empty).
void append_packet(std::string& out, uint32_t interface_id, uint64_t ts_ns, std::string_view packet,
                   std::string_view comment);

}  // namespace tlstap::pcapng
