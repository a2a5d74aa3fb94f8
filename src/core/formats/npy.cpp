// .npy (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html), as coral reads it:
//
//   file     := magic "\x93NUMPY"  major:u8  minor:u8  header_len  header[header_len]  data
//   header_len := u16le for version 1.0, u32le for versions 2.0 and 3.0 (header is UTF-8 in 3.0)
//   header   := ws dict ws          (numpy pads it with spaces and a final '\n')
//   dict     := '{' [ entry { ',' entry } [','] ] '}'       exactly the keys descr, fortran_order
//   entry    := string ':' value                            and shape, each once
//   value    := string | int | 'True' | 'False' | 'None' | tuple | list
//   tuple    := '(' ')' | '(' value ',' ')' | '(' value { ',' value } [','] ')'
//   list     := '[' [ value { ',' value } [','] ] ']'
//   string   := ['u'|'b'] ( "'" chars "'" | '"' chars '"' )    backslash escapes one character
//   int      := ['-'] digit { digit } ['L']                     ('L': files written by Python 2)
//
// shape is a tuple of non-negative ints, fortran_order is True or False, and data holds exactly
// product(shape) * itemsize bytes (C or Fortran order: either way it is one extent of raw bytes,
// kept as it is). descr values coral splits out: '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '<u8' '<u4'
// '<u2', the same with '>' (big-endian, recorded in the extent), and 'i1' 'u1' 'b1' with any of
// '|' '<' '>' '='. Any other descr (complex, strings, objects, structured, sub-array tuples) is a
// valid file whose bytes all stay skeleton: no size check is possible or needed then.

#include "core/formats/npy.hpp"

#include "core/formats/parse_util.hpp"

#include <algorithm>

namespace coral::core::formats {
namespace {

constexpr std::string_view k_magic = "\x93NUMPY";
constexpr int k_max_depth = 32;

// A Python literal, as far as npy headers need one.
struct PyValue {
  enum class Kind { string, integer, boolean, none, tuple, list } kind = Kind::none;
  std::string text;           // string
  bool negative = false;      // integer: sign and magnitude
  std::uint64_t number = 0;   // integer; boolean: 0 or 1
  std::vector<PyValue> items; // tuple, list
};

class LiteralParser {
public:
  LiteralParser(std::string_view name, std::string_view text) : m_name(name), m_text(text) {}

  std::vector<std::pair<std::string, PyValue>> parse_dict() {
    std::vector<std::pair<std::string, PyValue>> entries;
    skip_ws();
    expect('{');
    skip_ws();
    while (!accept('}')) {
      PyValue key = parse_value(0);
      if (key.kind != PyValue::Kind::string) fail("dict key is not a string");
      skip_ws();
      expect(':');
      entries.emplace_back(std::move(key.text), parse_value(0));
      skip_ws();
      if (!accept(',')) {
        expect('}');
        break;
      }
      skip_ws();
    }
    skip_ws();
    if (m_pos != m_text.size()) fail("unexpected text after the dict");
    return entries;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw_invalid(m_name, "header: " + what + " at byte " + std::to_string(m_pos));
  }
  void skip_ws() {
    constexpr std::string_view k_space = " \t\r\n\f";
    while (m_pos < m_text.size() && k_space.find(m_text[m_pos]) != std::string_view::npos) ++m_pos;
  }
  bool accept(char c) {
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  bool accept_word(std::string_view w) {
    if (m_text.substr(m_pos, w.size()) != w) return false;
    m_pos += w.size();
    return true;
  }

  PyValue parse_value(int depth) {
    if (depth > k_max_depth) fail("nesting too deep");
    skip_ws();
    PyValue v;
    if (m_pos >= m_text.size()) fail("unexpected end");
    const char c = m_text[m_pos];
    if (c == '\'' || c == '"' || ((c == 'u' || c == 'b') && m_pos + 1 < m_text.size() &&
                                  (m_text[m_pos + 1] == '\'' || m_text[m_pos + 1] == '"'))) {
      if (c == 'u' || c == 'b') ++m_pos;
      v.kind = PyValue::Kind::string;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v = parse_int();
    } else if (accept_word("True") || accept_word("False")) {
      v.kind = PyValue::Kind::boolean;
      v.number = c == 'T';
    } else if (accept_word("None")) {
      v.kind = PyValue::Kind::none;
    } else if (c == '(' || c == '[') {
      v = parse_sequence(depth);
    } else {
      fail("unexpected character");
    }
    return v;
  }

  std::string parse_string() {
    const char quote = m_text[m_pos++];
    std::string out;
    while (m_pos < m_text.size() && m_text[m_pos] != quote && m_text[m_pos] != '\n') {
      if (m_text[m_pos] == '\\') ++m_pos;
      if (m_pos >= m_text.size()) break;
      out += m_text[m_pos++];
    }
    if (m_pos >= m_text.size() || m_text[m_pos] != quote) fail("unterminated string");
    ++m_pos;
    return out;
  }

  PyValue parse_int() {
    PyValue v;
    v.kind = PyValue::Kind::integer;
    v.negative = accept('-');
    const std::size_t start = m_pos;
    while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
      const auto digit = static_cast<std::uint64_t>(m_text[m_pos] - '0');
      const auto scaled = checked_mul(v.number, 10);
      const auto next = scaled ? checked_add(*scaled, digit) : std::nullopt;
      if (!next) fail("integer out of range");
      v.number = *next;
      ++m_pos;
    }
    if (m_pos == start) fail("expected a digit");
    accept('L');
    return v;
  }

  // '(' or '[' ... ; a parenthesised single value without a comma is that value, as in Python.
  PyValue parse_sequence(int depth) {
    const char open = m_text[m_pos++];
    const char close = open == '(' ? ')' : ']';
    PyValue v;
    v.kind = open == '(' ? PyValue::Kind::tuple : PyValue::Kind::list;
    bool saw_comma = false;
    skip_ws();
    while (!accept(close)) {
      v.items.push_back(parse_value(depth + 1));
      skip_ws();
      if (accept(',')) {
        saw_comma = true;
        skip_ws();
        continue;
      }
      expect(close);
      break;
    }
    if (open == '(' && v.items.size() == 1 && !saw_comma) {
      PyValue inner = std::move(v.items.front());
      return inner;
    }
    return v;
  }

  std::string_view m_name;
  std::string_view m_text;
  std::size_t m_pos = 0;
};

struct NpyDescr {
  DType dtype;
  bool big_endian;
};

// The dtypes coral splits out, or nullopt for any other descr.
std::optional<NpyDescr> map_descr(std::string_view descr) {
  struct Entry {
    std::string_view code;
    DType dtype;
  };
  static constexpr Entry k_table[] = {
    {"f8", DType::f64}, {"f4", DType::f32}, {"f2", DType::f16}, {"i8", DType::i64},
    {"i4", DType::i32}, {"i2", DType::i16}, {"i1", DType::i8},  {"u8", DType::u64},
    {"u4", DType::u32}, {"u2", DType::u16}, {"u1", DType::u8},  {"b1", DType::boolean},
  };
  if (descr.size() != 3) return std::nullopt;
  const char order = descr[0];
  for (const auto& e : k_table) {
    if (descr.substr(1) != e.code) continue;
    if (dtype_size(e.dtype) == 1)
      return std::string_view("|<>=").find(order) != std::string_view::npos
                 ? std::optional<NpyDescr>(NpyDescr{e.dtype, false})
                 : std::nullopt;
    if (order == '<' || order == '>') return NpyDescr{e.dtype, order == '>'};
    return std::nullopt;
  }
  return std::nullopt;
}

struct NpyHeader {
  const PyValue* descr = nullptr;
  std::vector<std::uint64_t> shape;
};

NpyHeader check_header(std::string_view name,
                       const std::vector<std::pair<std::string, PyValue>>& entries) {
  NpyHeader h;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape = nullptr;
  for (const auto& [key, value] : entries) {
    const PyValue** slot = key == "descr" ? &h.descr
                           : key == "fortran_order" ? &fortran_order
                           : key == "shape" ? &shape
                                            : nullptr;
    if (!slot) throw_invalid(name, "header has unknown key '" + printable(key) + "'");
    if (*slot) throw_invalid(name, "header has key '" + key + "' twice");
    *slot = &value;
  }
  if (!h.descr || !fortran_order || !shape)
    throw_invalid(name, "header lacks one of descr, fortran_order, shape");
  if (fortran_order->kind != PyValue::Kind::boolean)
    throw_invalid(name, "fortran_order is not True or False");
  const auto k = h.descr->kind;
  if (k != PyValue::Kind::string && k != PyValue::Kind::list && k != PyValue::Kind::tuple)
    throw_invalid(name, "descr is not a dtype description");
  const bool shape_ok =
    shape->kind == PyValue::Kind::tuple &&
    std::all_of(shape->items.begin(), shape->items.end(), [](const PyValue& d) {
      return d.kind == PyValue::Kind::integer && !(d.negative && d.number != 0);
    });
  if (!shape_ok) throw_invalid(name, "shape is not a tuple of non-negative integers");
  for (const auto& d : shape->items) h.shape.push_back(d.number);
  return h;
}

}  // namespace

std::optional<TensorExtent> parse_npy_at(std::string_view name, std::span<const std::byte> data,
                                         std::uint64_t base_offset, std::string_view tensor_name) {
  const std::uint64_t size = data.size();
  if (size < k_magic.size() + 2)
    throw_invalid(name, "file is " + std::to_string(size) +
                            " bytes, too short for the npy preamble");
  if (as_chars(data.first(k_magic.size())) != k_magic) throw_invalid(name, "bad npy magic");
  const auto major = static_cast<unsigned>(data[6]);
  const auto minor = static_cast<unsigned>(data[7]);
  if (minor != 0 || major < 1 || major > 3)
    throw_invalid(name, "unsupported npy version " + std::to_string(major) + "." +
                            std::to_string(minor));
  const std::uint64_t len_size = major == 1 ? 2 : 4;
  if (size < 8 + len_size) throw_invalid(name, "truncated header length");
  const std::uint64_t header_len =
    major == 1 ? load_le<std::uint16_t>(data, 8) : load_le<std::uint32_t>(data, 8);
  const std::uint64_t header_start = 8 + len_size;
  if (header_len > size - header_start)
    throw_invalid(name, "header length " + std::to_string(header_len) + " exceeds file size " +
                            std::to_string(size));

  LiteralParser parser(name, as_chars(data.subspan(header_start, header_len)));
  const auto entries = parser.parse_dict();
  const NpyHeader header = check_header(name, entries);
  if (header.descr->kind != PyValue::Kind::string) return std::nullopt;
  const auto descr = map_descr(header.descr->text);
  if (!descr) return std::nullopt;

  const std::uint64_t data_start = header_start + header_len;
  const std::uint64_t data_size = size - data_start;
  const auto needed = byte_size(header.shape, dtype_size(descr->dtype));
  if (!needed)
    throw_invalid(name, "shape " + shape_string(header.shape) + " of '" + header.descr->text +
                            "' overflows 64 bits");
  if (*needed != data_size)
    throw_invalid(name, "size mismatch: data is " + std::to_string(data_size) + " bytes, shape " +
                            shape_string(header.shape) + " of '" + header.descr->text +
                            "' needs " + std::to_string(*needed));
  TensorExtent t;
  t.name = tensor_name;
  t.dtype = descr->dtype;
  t.shape = header.shape;
  t.offset = base_offset + data_start;
  t.length = data_size;
  t.big_endian = descr->big_endian;
  return t;
}

FileLayout parse_npy(std::string_view name, std::span<const std::byte> data) {
  FileLayout layout;
  layout.format = FileFormat::npy;
  if (auto t = parse_npy_at(name, data, 0, "array")) layout.tensors.push_back(std::move(*t));
  return layout;
}

}  // namespace coral::core::formats
