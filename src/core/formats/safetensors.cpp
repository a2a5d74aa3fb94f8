// safetensors (https://github.com/huggingface/safetensors), as coral reads it:
//
//   file    := header_len:u64le  header[header_len]  data[*]
//   header  := a JSON object (UTF-8; writers pad it with trailing spaces to 8-byte alignment)
//              { "__metadata__": { string: string, ... },      optional, may be null
//                "<tensor name>": { "dtype": DTYPE,
//                                   "shape": [ uint, ... ],     [] is a scalar
//                                   "data_offsets": [ begin:uint, end:uint ] },
//                ... }
//   DTYPE   := F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U64 U32 U16 U8 BOOL
//
// begin and end are relative to the start of data (byte 8 + header_len), begin <= end,
// end - begin == product(shape) * size(DTYPE), and no two tensors overlap. Tensor names are
// unique. A zero-size tensor (a 0 in its shape) has begin == end. Bytes of data that no tensor
// covers (gaps, a tail) are kept as skeleton. Other keys inside a tensor entry are ignored, as the
// reference implementation does.
//
// Every length and offset is checked against the file size before use; products are computed
// with overflow checks.

#include "core/formats/safetensors.hpp"

#include "core/formats/parse_util.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <unordered_set>

namespace coral::core::formats {
namespace {

using nlohmann::json;

std::string json_list(const std::vector<std::uint64_t>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(v[i]);
  }
  return out + "]";
}

std::string quote_name(std::string_view tensor) {
  std::string out = "'";
  out += printable(tensor);
  out += '\'';
  return out;
}

// Parses the header text. Duplicate keys at the top level are rejected (nlohmann would keep the
// last one silently).
// Finds the first duplicate top-level key in one linear SAX pass (nlohmann's parse callback is
// quadratic in the number of keys: 10,000 tensors took 0.4 s with it).
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
public:
  std::optional<std::string> duplicate;

  bool key(string_t& k) override {
    if (m_depth == 1 && !duplicate && !m_keys.insert(k).second) duplicate = k;
    return true;
  }
  bool start_object(std::size_t) override { return ++m_depth, true; }
  bool end_object() override { return --m_depth, true; }
  bool start_array(std::size_t) override { return ++m_depth, true; }
  bool end_array() override { return --m_depth, true; }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
  int m_depth = 0;
  std::unordered_set<std::string> m_keys;
};

json parse_header(std::string_view name, std::string_view text) {
  json header;
  try {
    header = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw_invalid(name, "header is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const json::out_of_range&) {
    // A number literal beyond double's range, e.g. 1E400 (found by fuzz_safetensors).
    throw_invalid(name, "header is not valid JSON (number out of range)");
  }
  if (!header.is_object()) throw_invalid(name, "header is not a JSON object");
  // The map above silently kept one of two equal keys; a second, linear pass finds them.
  DuplicateKeyFinder finder;
  try {
    json::sax_parse(text.begin(), text.end(), &finder);
  } catch (const json::exception&) {
    throw_invalid(name, "header is not valid JSON");
  }
  if (finder.duplicate) throw_invalid(name, "duplicate tensor " + quote_name(*finder.duplicate));
  return header;
}

void check_metadata(std::string_view name, const json& metadata) {
  if (metadata.is_null()) return;
  const bool ok = metadata.is_object() && std::all_of(metadata.begin(), metadata.end(),
                                                       [](const json& v) { return v.is_string(); });
  if (!ok) throw_invalid(name, "__metadata__ is not a map of strings");
}

std::optional<std::vector<std::uint64_t>> read_uint_list(const json& entry, const char* key) {
  const auto it = entry.find(key);
  if (it == entry.end() || !it->is_array()) return std::nullopt;
  std::vector<std::uint64_t> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number_unsigned()) return std::nullopt;
    out.push_back(v.get<std::uint64_t>());
  }
  return out;
}

// One tensor entry; the extent's offset is still relative to the data section.
TensorExtent parse_tensor(std::string_view name, const std::string& tensor, const json& entry,
                          std::uint64_t data_size) {
  const std::string where = "tensor " + quote_name(tensor) + ": ";
  if (!entry.is_object()) throw_invalid(name, where + "entry is not a JSON object");

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string())
    throw_invalid(name, where + "dtype is missing or not a string");
  const auto& dtype_name = dtype_it->get_ref<const std::string&>();
  const auto dtype = find_dtype(dtype_name);
  if (!dtype) throw_invalid(name, where + "unknown dtype '" + printable(dtype_name) + "'");

  auto shape = read_uint_list(entry, "shape");
  if (!shape) throw_invalid(name, where + "shape is not a list of non-negative integers");

  const auto offsets = read_uint_list(entry, "data_offsets");
  if (!offsets || offsets->size() != 2 || (*offsets)[0] > (*offsets)[1])
    throw_invalid(name, where + "data_offsets is not [begin, end] with begin <= end");
  const std::uint64_t begin = (*offsets)[0];
  const std::uint64_t end = (*offsets)[1];

  const auto needed = byte_size(*shape, dtype_size(*dtype));
  if (!needed)
    throw_invalid(name, where + "shape " + json_list(*shape) + " of " + dtype_name +
                            " overflows 64 bits");
  if (*needed != end - begin)
    throw_invalid(name, where + "shape " + json_list(*shape) + " of " + dtype_name + " needs " +
                            std::to_string(*needed) + " bytes but data_offsets " +
                            json_list(*offsets) + " hold " + std::to_string(end - begin));
  if (end > data_size)
    throw_invalid(name, where + "data_offsets " + json_list(*offsets) + " exceed the " +
                            std::to_string(data_size) + "-byte data section");

  TensorExtent t;
  t.name = tensor;
  t.dtype = *dtype;
  t.shape = std::move(*shape);
  t.offset = begin;
  t.length = end - begin;
  return t;
}

// Sorts by offset (then length, then name, so the order is deterministic) and rejects overlaps.
void sort_and_check_overlaps(std::string_view name, std::vector<TensorExtent>& tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorExtent& a, const TensorExtent& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    if (a.length != b.length) return a.length < b.length;
    return a.name < b.name;
  });
  // The tensor reaching furthest so far; a zero-length tensor strictly inside it overlaps too.
  const TensorExtent* furthest = nullptr;
  for (const auto& t : tensors) {
    if (furthest && t.offset < furthest->offset + furthest->length)
      throw_invalid(name, "tensors " + quote_name(furthest->name) + " and " + quote_name(t.name) +
                            " overlap");
    if (!furthest || t.offset + t.length > furthest->offset + furthest->length) furthest = &t;
  }
}

}  // namespace

FileLayout parse_safetensors(std::string_view name, std::span<const std::byte> data) {
  const std::uint64_t size = data.size();
  if (size < 8)
    throw_invalid(name, "file is " + std::to_string(size) +
                            " bytes, too short for the 8-byte header length");
  const auto header_len = load_le<std::uint64_t>(data, 0);
  if (header_len > size - 8)
    throw_invalid(name, "header length " + std::to_string(header_len) + " exceeds file size " +
                            std::to_string(size));
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = size - data_start;

  const json header = parse_header(name, as_chars(data.subspan(8, header_len)));
  FileLayout layout;
  layout.format = FileFormat::safetensors;
  layout.tensors.reserve(header.size());
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      check_metadata(name, entry);
      continue;
    }
    layout.tensors.push_back(parse_tensor(name, key, entry, data_size));
  }
  sort_and_check_overlaps(name, layout.tensors);
  for (auto& t : layout.tensors) t.offset += data_start;
  return layout;
}

}  // namespace coral::core::formats
