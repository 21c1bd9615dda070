// Plugin options: the schema a plugin declares and the parsed values it gets.
#pragma once
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace vpnsdk {

enum class OptionType : std::uint32_t { string, integer, boolean, number, string_list };

inline const char* option_type_name(OptionType t) noexcept {
  switch (t) {
    case OptionType::string: return "string";
    case OptionType::integer: return "integer";
    case OptionType::boolean: return "boolean";
    case OptionType::number: return "number";
    case OptionType::string_list: return "array of strings";
  }
  return "unknown";
}

// One option a plugin accepts. `default_value` is text: an integer "5000",
// a boolean "true"/"false", a number "1.5", a string as it is, a list as
// comma-separated items. nullptr default + required=true: must be given.
struct OptionSpec {
  const char* name;
  OptionType type;
  const char* default_value;
  const char* help;
  bool required = false;
};

using OptionValue = std::variant<std::string, std::int64_t, bool, double, std::vector<std::string>>;

// Parses an OptionSpec default text into a value of its type; nullopt if the
// text does not fit the type (a bug in the plugin's schema).
inline std::optional<OptionValue> parse_option_text(OptionType type, const std::string& text) {
  switch (type) {
    case OptionType::string: return OptionValue{text};
    case OptionType::integer: {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
      return OptionValue{v};
    }
    case OptionType::boolean:
      if (text == "true") return OptionValue{true};
      if (text == "false") return OptionValue{false};
      return std::nullopt;
    case OptionType::number: {  // plain decimal only: no spaces, hex, inf or nan
      double v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::general);
      if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) return std::nullopt;
      return OptionValue{v};
    }
    case OptionType::string_list: {
      std::vector<std::string> items;
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(start, comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
      }
      return OptionValue{items};
    }
  }
  return std::nullopt;
}

// The values a plugin instance gets: every option of its schema is present
// (given or defaulted) except required ones, which the host has checked.
class Options {
 public:
  struct Entry {
    OptionValue value;
    bool given = false;     // written in the manifest (or --set), not defaulted
    std::string where;      // "file:line:col" where it was given, for messages
  };

  void set(std::string name, Entry e) { entries_[std::move(name)] = std::move(e); }

  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  bool given(const std::string& name) const {
    auto it = entries_.find(name);
    return it != entries_.end() && it->second.given;
  }
  // Location for messages: "server.manifest:12:1", or "default".
  std::string where(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end() || !it->second.given) return "default";
    return it->second.where;
  }

  const std::string& str(const std::string& name) const { return get<std::string>(name); }
  std::int64_t integer(const std::string& name) const { return get<std::int64_t>(name); }
  bool boolean(const std::string& name) const { return get<bool>(name); }
  double number(const std::string& name) const { return get<double>(name); }
  const std::vector<std::string>& list(const std::string& name) const {
    return get<std::vector<std::string>>(name);
  }

  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  template <class T>
  const T& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw std::out_of_range("option '" + name + "' is not in this plugin's schema");
    const T* v = std::get_if<T>(&it->second.value);
    if (v == nullptr) throw std::invalid_argument("option '" + name + "' read with the wrong type");
    return *v;
  }
  std::map<std::string, Entry> entries_;
};

}  // namespace vpnsdk
