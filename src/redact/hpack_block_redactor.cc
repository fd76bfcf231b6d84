#include "redact/hpack_block_redactor.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace tlstap::redact::hpack {

namespace {
// Integers larger than this are not HPACK any real peer sends (lengths, indexes, table
// sizes): treated as a broken stream rather than risking arithmetic overflow.
constexpr uint64_t kLargestInteger = 0xffffffffu;
}  // namespace

HpackBlockRedactor::ByteResult HpackBlockRedactor::byte(char& b) {
  const auto u = static_cast<uint8_t>(b);
  switch (phase_) {
    case Phase::representation:
      field_ = Field::index;
      name_ = {};
      name_text_.clear();
      if (u & 0x80) {
        kind_ = Kind::indexed;
        start_integer(u, 7);
      } else if (u & 0x40) {
        kind_ = Kind::incremental;
        start_integer(u, 6);
      } else if (u & 0x20) {
        kind_ = Kind::size_update;
        start_integer(u, 5);
      } else {
        kind_ = Kind::without_indexing;  // and never indexed (0x10): the same shape
        start_integer(u, 4);
      }
      return integer_done() ? ByteResult::decided : ByteResult::error;
    case Phase::integer:
      if (!continue_integer(u)) return ByteResult::error;
      return integer_done() ? ByteResult::decided : ByteResult::error;
    case Phase::string_length:
      huffman_ = (u & 0x80) != 0;
      start_integer(u, 7);
      return integer_done() ? ByteResult::decided : ByteResult::error;
    case Phase::string: return string_byte(b);
  }
  return ByteResult::error;
}

void HpackBlockRedactor::start_integer(uint8_t b, unsigned prefix_bits) {
  const uint8_t max = static_cast<uint8_t>((1u << prefix_bits) - 1);
  integer_ = b & max;
  shift_ = 0;
  integer_complete_ = integer_ < max;
  phase_ = Phase::integer;
}

bool HpackBlockRedactor::continue_integer(uint8_t b) {
  if (shift_ > 28) return false;
  integer_ += static_cast<uint64_t>(b & 0x7f) << shift_;
  shift_ += 7;
  if (integer_ > kLargestInteger) return false;
  integer_complete_ = !(b & 0x80);
  return true;
}

bool HpackBlockRedactor::integer_done() {
  if (!integer_complete_) return true;  // more bytes to come
  const uint64_t value = integer_;
  switch (field_) {
    case Field::index:
      if (kind_ == Kind::size_update) {
        table_.set_max_size(value);
        end_representation();
        return true;
      }
      if (kind_ == Kind::indexed) {  // a whole field from a table: no value bytes to mask
        if (value == 0) return false;
        if (value > kStaticTableEntries && !table_.dynamic_name(value)) return false;
        end_representation();
        return true;
      }
      if (value == 0) {  // a literal name follows
        field_ = Field::name_length;
      } else if (value <= kStaticTableEntries) {
        std::string_view name = static_table_name(value);
        name_ = {names_.contains(name) ? NameClass::redacted : NameClass::shown, name.size()};
        field_ = Field::value_length;
      } else {
        std::optional<NameInfo> name = table_.dynamic_name(value);
        if (!name) return false;
        name_ = *name;
        field_ = Field::value_length;
      }
      phase_ = Phase::string_length;
      return true;
    case Field::name_length:
    case Field::value_length:
      string_length_ = value;
      field_ = field_ == Field::name_length ? Field::name : Field::value;
      return start_string();
    case Field::name:
    case Field::value: break;
  }
  return false;
}

bool HpackBlockRedactor::start_string() {
  string_fed_ = 0;
  decoder_ = HuffmanDecoder();
  held_.clear();
  value_counted_ = false;
  mode_ = ValueMode::shown;
  if (field_ == Field::value && name_.name_class != NameClass::shown) {
    if (!huffman_)
      mode_ = ValueMode::raw_mask;
    else
      mode_ = string_length_ <= kHoldCap ? ValueMode::hold : ValueMode::ff_mask;
  }
  phase_ = Phase::string;
  if (string_length_ == 0) return string_done();
  return true;
}

HpackBlockRedactor::ByteResult HpackBlockRedactor::string_byte(char& b) {
  const auto u = static_cast<uint8_t>(b);
  ++string_fed_;
  ByteResult result = ByteResult::decided;
  if (huffman_) {
    if (mode_ == ValueMode::hold) held_.push_back(b);
    bool ok = decoder_.feed(u, [&](uint8_t symbol, uint64_t start_bit, unsigned length) {
      if (field_ == Field::name) name_char(symbol);
      if (mode_ == ValueMode::hold) write_mask_bits(start_bit, length);
    });
    if (!ok) return ByteResult::error;
    if (mode_ == ValueMode::hold) result = ByteResult::held;
  } else if (field_ == Field::name) {
    name_char(u);
  }
  if (mode_ == ValueMode::raw_mask) b = '*';
  if (mode_ == ValueMode::ff_mask) b = static_cast<char>(0xff);
  if (string_fed_ < string_length_) return result;
  if (mode_ == ValueMode::hold && decoder_.complete()) write_canonical_mask();
  if (!string_done()) return ByteResult::error;
  return result == ByteResult::held ? ByteResult::held_last : result;
}

bool HpackBlockRedactor::string_done() {
  if (huffman_ && !decoder_.complete()) return false;
  const uint64_t decoded = huffman_ ? decoder_.symbols() : string_length_;
  if (field_ == Field::name) {
    bool redact = decoded <= names_.longest() && names_.contains(name_text_);
    name_ = {redact ? NameClass::redacted : NameClass::shown, decoded};
    field_ = Field::value_length;
    phase_ = Phase::string_length;
    return true;
  }
  if (mode_ != ValueMode::shown && !value_counted_) count_value_masked(string_length_);
  if (kind_ == Kind::incremental) table_.insert(name_, decoded);
  end_representation();
  return true;
}

void HpackBlockRedactor::name_char(uint8_t c) {
  if (name_text_.size() <= names_.longest())
    name_text_.push_back(static_cast<char>(std::tolower(c)));
}

void HpackBlockRedactor::count_value_masked(uint64_t bytes) {
  if (bytes == 0) return;
  ++counts_.values_masked;
  counts_.bytes_masked += bytes;
}

// Rewrites bits [start_bit, start_bit + length) of the held string with the code of the mask
// symbol of that length.
void HpackBlockRedactor::write_mask_bits(uint64_t start_bit, unsigned length) {
  const HuffmanCode& code = huffman_code(mask_symbol(length));
  for (unsigned i = 0; i < length; ++i) {
    uint64_t bit = start_bit + i;
    auto& byte = reinterpret_cast<uint8_t&>(held_[bit / 8]);
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((code.bits >> (length - 1 - i)) & 1u)
      byte |= mask;
    else
      byte &= static_cast<uint8_t>(~mask);
  }
}

namespace {

// Code lengths for a masked value of `symbols` symbols in exactly `bits` bits, chosen from
// those two numbers alone. Masking symbol by symbol kept each character's code length where it
// was, which tells a digit from most letters; the count and the bit total have to stay (they
// fix the value's decoded length and byte length), the rest need not. Two neighbouring code
// lengths around the average when they add up exactly (always, for the 5-8 bit codes of
// printable tokens: the mask stays printable), else longest first. Empty when neither works
// (then the per-symbol masking stays).
std::vector<uint8_t> canonical_mask_lengths(uint64_t symbols, uint64_t bits) {
  constexpr unsigned kShortest = 5;
  std::vector<uint8_t> usable;  // code lengths a mask symbol exists for, shortest first
  for (unsigned length = kShortest; length <= kLongestCode; ++length)
    if (huffman_code(mask_symbol(length)).length == length) usable.push_back(length);
  if (symbols == 0 || bits < kShortest * symbols) return {};
  for (size_t i = 0; i < usable.size(); ++i) {
    const uint64_t low = usable[i];
    const uint64_t high = i + 1 < usable.size() ? usable[i + 1] : low;
    if (bits < low * symbols || bits > high * symbols) continue;
    if (high == low) return std::vector<uint8_t>(symbols, static_cast<uint8_t>(low));
    if ((bits - low * symbols) % (high - low) != 0) continue;
    const uint64_t highs = (bits - low * symbols) / (high - low);
    std::vector<uint8_t> lengths(highs, static_cast<uint8_t>(high));
    lengths.resize(symbols, static_cast<uint8_t>(low));
    return lengths;
  }
  const uint64_t widest = usable.back() - kShortest;
  // Whether `n` symbols can add exactly `more` bits to their shortest codes: one only with a
  // length that exists; two or more with anything up to n widest but one bit short of it (the
  // second-widest code is two bits shorter than the widest).
  auto reachable = [&](uint64_t more, uint64_t n) {
    if (n == 0) return more == 0;
    if (n == 1) {
      return std::any_of(usable.begin(), usable.end(),
                         [&](uint8_t length) { return length - kShortest == more; });
    }
    return more <= widest * n && more != widest * n - 1;
  };
  uint64_t extra = bits - kShortest * symbols;  // bits beyond all-shortest codes
  std::vector<uint8_t> lengths;
  lengths.reserve(symbols);
  for (uint64_t left = symbols; left > 0; --left) {
    std::optional<uint8_t> pick;
    for (auto it = usable.rbegin(); it != usable.rend(); ++it) {
      uint64_t more = *it - kShortest;
      if (more <= extra && reachable(extra - more, left - 1)) {
        pick = *it;
        break;
      }
    }
    if (!pick) return {};
    extra -= *pick - kShortest;
    lengths.push_back(*pick);
  }
  if (extra != 0) return {};
  return lengths;
}

}  // namespace

void HpackBlockRedactor::write_canonical_mask() {
  std::vector<uint8_t> lengths =
      canonical_mask_lengths(decoder_.symbols(), decoder_.symbol_bits_end());
  uint64_t bit = 0;
  for (uint8_t length : lengths) {
    write_mask_bits(bit, length);
    bit += length;
  }
}

void HpackBlockRedactor::cut_hold() {
  if (phase_ != Phase::string || mode_ != ValueMode::hold) return;
  for (uint64_t bit = decoder_.symbol_bits_end(); bit < held_.size() * 8; ++bit)
    reinterpret_cast<uint8_t&>(held_[bit / 8]) |= static_cast<uint8_t>(0x80u >> (bit % 8));
  // Counted now for the bytes held; the rest of the string is masked without being held.
  count_value_masked(held_.size());
  counts_.bytes_masked += string_length_ - held_.size();
  value_counted_ = true;
  mode_ = ValueMode::ff_mask;
}

void HpackBlockRedactor::forget() {
  table_.forget();
  phase_ = Phase::representation;
  held_.clear();
}

}  // namespace tlstap::redact::hpack
