#include "similarity_segment.hpp"

#include "coral/core/error.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <system_error>

namespace coral::vcs::similarity {
namespace {

constexpr char k_magic[8] = {'C', 'O', 'R', 'A', 'L', 'S', 'I', 'M'};
constexpr std::uint32_t k_version = 1;
constexpr std::size_t k_min_slots = 16;
constexpr std::string_view k_extension = ".seg";

template <typename T>
T load_le(const std::byte* p) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}

template <typename T>
void store_le(std::byte* p, T v) noexcept {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::optional<core::DType> dtype_from_code(std::uint8_t code) noexcept {
  switch (code) {
    case 1: return core::DType::f64;
    case 2: return core::DType::f32;
    case 3: return core::DType::f16;
    case 4: return core::DType::bf16;
    case 5: return core::DType::f8_e4m3;
    case 6: return core::DType::f8_e5m2;
    default: return std::nullopt;
  }
}

std::uint64_t slot_count_for(std::uint64_t keys) noexcept {
  // Load factor at most 2/3: a missed lookup reads ~3 slots on average.
  return std::max<std::uint64_t>(k_min_slots, std::bit_ceil(keys + keys / 2 + 1));
}

bool same_entry(const Record& a, const Record& b) noexcept {
  return a.id == b.id && a.sig.dtype == b.sig.dtype && a.sig.elements == b.sig.elements;
}

}  // namespace

std::uint8_t dtype_code(core::DType t) noexcept {
  switch (t) {
    case core::DType::f64: return 1;
    case core::DType::f32: return 2;
    case core::DType::f16: return 3;
    case core::DType::bf16: return 4;
    case core::DType::f8_e4m3: return 5;
    case core::DType::f8_e5m2: return 6;
    default: return 0;
  }
}

std::uint64_t band_key(const Signature& s, std::size_t band) noexcept {
  std::uint64_t h = mix64(0x636f72616c73696dULL ^ dtype_code(s.dtype));  // "coralsim"
  h = mix64(h ^ s.elements);
  return mix64(h ^ (std::uint64_t{band} << 32 | lsh_band(s.bits, band)));
}

EncodedSegment encode_segment(std::vector<Record> records) {
  std::erase_if(records, [](const Record& r) { return dtype_code(r.sig.dtype) == 0; });
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    if (a.id != b.id) return a.id < b.id;
    if (a.sig.dtype != b.sig.dtype) return dtype_code(a.sig.dtype) < dtype_code(b.sig.dtype);
    return a.sig.elements < b.sig.elements;
  });
  records.erase(std::unique(records.begin(), records.end(), same_entry), records.end());

  const std::uint64_t n = records.size();
  const std::uint64_t slots = slot_count_for(n * k_lsh_bands);
  EncodedSegment out;
  out.bytes.resize(k_header_size + n * k_record_size + slots * k_slot_size);
  std::byte* const rec_base = out.bytes.data() + k_header_size;
  std::byte* const slot_base = rec_base + n * k_record_size;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Record& r = records[i];
    std::byte* p = rec_base + i * k_record_size;
    std::memcpy(p, r.id.bytes.data(), 16);
    store_le<std::uint64_t>(p + 16, r.sig.bits);
    store_le<std::uint64_t>(p + 24, r.sig.elements);
    store_le<std::uint8_t>(p + 32, dtype_code(r.sig.dtype));
    for (std::size_t b = 0; b < k_lsh_bands; ++b) {
      const std::uint64_t key = band_key(r.sig, b);
      // Lookups read at most k_max_probes slots from home: an entry that would land further
      // (a hot bucket) is left out, which also keeps building O(n).
      std::uint64_t s = key & (slots - 1);
      for (std::size_t d = 0; d < k_max_probes; ++d, s = (s + 1) & (slots - 1)) {
        std::byte* slot = slot_base + s * k_slot_size;
        if (load_le<std::uint32_t>(slot) != 0) continue;
        store_le<std::uint32_t>(slot, static_cast<std::uint32_t>(i + 1));
        store_le<std::uint32_t>(slot + 4, static_cast<std::uint32_t>(key >> 32));
        store_le<std::uint64_t>(slot + 8, r.sig.bits);
        break;
      }
    }
  }
  const core::ObjectId sum =
      core::hash_bytes(std::span<const std::byte>(out.bytes).subspan(k_header_size));
  std::byte* h = out.bytes.data();
  std::memcpy(h, k_magic, sizeof k_magic);
  store_le<std::uint32_t>(h + 8, k_version);
  store_le<std::uint32_t>(h + 12, static_cast<std::uint32_t>(k_header_size));
  store_le<std::uint32_t>(h + 16, static_cast<std::uint32_t>(k_lsh_bands));
  store_le<std::uint32_t>(h + 20, static_cast<std::uint32_t>(k_lsh_band_bits));
  store_le<std::uint64_t>(h + 24, n);
  store_le<std::uint64_t>(h + 32, slots);
  std::memcpy(h + 40, sum.bytes.data(), 16);
  out.name = sum.hex() + std::string(k_extension);
  return out;
}

Segment::Segment(std::filesystem::path path, std::unique_ptr<core::fs::MappedFile> file)
  : m_path(std::move(path)), m_file(std::move(file)) {}

std::unique_ptr<Segment> Segment::open(const std::filesystem::path& path) {
  auto file = std::make_unique<core::fs::MappedFile>(path);
  const auto bytes = file->bytes();
  auto corrupt = [&](const std::string& what) {
    return CorruptError("similarity segment '" + path.string() + "' is damaged", what);
  };
  if (bytes.size() < k_header_size) throw corrupt("shorter than its header");
  const std::byte* h = bytes.data();
  if (std::memcmp(h, k_magic, sizeof k_magic) != 0) throw corrupt("bad magic");
  if (load_le<std::uint32_t>(h + 8) != k_version || load_le<std::uint32_t>(h + 12) != k_header_size ||
      load_le<std::uint32_t>(h + 16) != k_lsh_bands || load_le<std::uint32_t>(h + 20) != k_lsh_band_bits)
    throw corrupt("unknown version or parameters");
  const std::uint64_t n = load_le<std::uint64_t>(h + 24);
  const std::uint64_t slots = load_le<std::uint64_t>(h + 32);
  const std::uint64_t body = bytes.size() - k_header_size;
  if (slots < k_min_slots || !std::has_single_bit(slots) || n >= 0xffffffffULL || slots > body / k_slot_size ||
      n > body / k_record_size || k_record_size * n + k_slot_size * slots != body)
    throw corrupt("sizes do not match the file size");
  core::ObjectId sum;
  std::memcpy(sum.bytes.data(), h + 40, 16);
  if (core::hash_bytes(bytes.subspan(k_header_size)) != sum) throw corrupt("checksum mismatch");

  std::unique_ptr<Segment> seg(new Segment(path, std::move(file)));
  seg->m_records = n;
  seg->m_slot_mask = slots - 1;
  seg->m_record_base = h + k_header_size;
  seg->m_slot_base = seg->m_record_base + n * k_record_size;
  return seg;
}

Record Segment::record(std::uint64_t i) const noexcept {
  const std::byte* p = m_record_base + i * k_record_size;
  Record r;
  std::memcpy(r.id.bytes.data(), p, 16);
  r.sig.bits = load_le<std::uint64_t>(p + 16);
  r.sig.elements = load_le<std::uint64_t>(p + 24);
  r.sig.dtype = dtype_from_code(load_le<std::uint8_t>(p + 32)).value_or(core::DType::boolean);
  return r;
}

std::vector<Record> Segment::records() const {
  std::vector<Record> out;
  out.reserve(m_records);
  for (std::uint64_t i = 0; i < m_records; ++i) {
    Record r = record(i);
    if (dtype_code(r.sig.dtype) != 0) out.push_back(r);
  }
  return out;
}

std::uint64_t Segment::probe(std::uint64_t key, const std::function<void(std::uint64_t, std::uint64_t)>& visit) const {
  std::uint64_t count = 0;
  const auto tag = static_cast<std::uint32_t>(key >> 32);
  std::uint64_t s = key & m_slot_mask;
  for (std::size_t i = 0; i < k_max_probes; ++i, s = (s + 1) & m_slot_mask) {
    const std::byte* p = m_slot_base + s * k_slot_size;
    ++count;
    const std::uint32_t rec = load_le<std::uint32_t>(p);
    if (rec == 0) break;
    if (load_le<std::uint32_t>(p + 4) != tag || rec > m_records) continue;
    visit(rec - 1, load_le<std::uint64_t>(p + 8));
  }
  return count;
}

std::vector<std::filesystem::path> list_segments(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > k_extension.size() && name.ends_with(k_extension) && !core::fs::is_temp_name(name))
      out.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw IoError("cannot list similarity index '" + dir.string() + "'", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace coral::vcs::similarity
