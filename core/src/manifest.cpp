#include "vpnhost/manifest.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "vpnhost/text.hpp"

namespace vpnhost {
namespace {

constexpr const char* kStageTables = "host, transport, cipher, device, router, [[responder]]";

Position pos_of(const toml::source_region& src, const std::string& file) {
  return Position{file, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

const char* toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

RawValue raw_from(const toml::node& n, const Position& where) {
  RawValue r;
  r.where = where;
  r.type_name = toml_type_name(n.type());
  if (auto s = n.value_exact<std::string>()) {
    r.value = *s;
  } else if (auto i = n.value_exact<std::int64_t>()) {
    r.value = *i;
  } else if (auto d = n.value_exact<double>()) {
    r.value = *d;
  } else if (auto b = n.value_exact<bool>()) {
    r.value = *b;
  } else if (const toml::array* a = n.as_array()) {
    std::vector<std::string> items;
    bool all_strings = true;
    for (const auto& e : *a) {
      if (auto s = e.value_exact<std::string>()) items.push_back(*s);
      else all_strings = false;
    }
    if (all_strings) {
      r.value = items;
      r.type_name = "array of strings";
    } else {
      r.type_name = "array with non-string items";
    }
  }
  return r;
}

std::optional<vpnsdk::Stage> stage_of_table(const std::string& name) {
  if (name == "transport") return vpnsdk::Stage::transport;
  if (name == "cipher") return vpnsdk::Stage::cipher;
  if (name == "device") return vpnsdk::Stage::device;
  if (name == "router") return vpnsdk::Stage::router;
  if (name == "responder") return vpnsdk::Stage::responder;
  return std::nullopt;
}

StageEntry stage_entry(vpnsdk::Stage stage, std::string label, const toml::table& t, const Position& where,
                       const std::string& file) {
  StageEntry e{stage, std::move(label), "", where, {}};
  bool have_plugin = false;
  for (const auto& [key, node] : t) {
    const Position kp = pos_of(key.source(), file);
    if (key.str() == "plugin") {
      auto name = node.value_exact<std::string>();
      if (!name)
        throw ManifestError(kp, "[" + e.table + "] plugin must be a string (the plugin's name), not " +
                                    with_article(toml_type_name(node.type())));
      e.plugin = *name;
      have_plugin = true;
      continue;
    }
    e.options.emplace(std::string(key.str()), raw_from(node, kp));
  }
  if (!have_plugin)
    throw ManifestError(where, "[" + e.table + "] has no plugin = \"...\"; name the plugin that fills this stage "
                               "(`vpnhost plugins` lists them)");
  return e;
}

void apply_override(Manifest& m, const std::string& spec) {
  const Position where{"--set " + spec, 0, 0};
  const auto eq = spec.find('=');
  const auto dot = spec.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw ManifestError(where, "expected TABLE.KEY=VALUE, e.g. --set transport.port=5001");
  const std::string table = spec.substr(0, dot);
  const std::string key = spec.substr(dot + 1, eq - dot - 1);
  const std::string text = spec.substr(eq + 1);

  // A TOML literal if it parses as one (5001, true, ["a","b"], "quoted"), else plain text.
  RawValue value;
  try {
    toml::table parsed = toml::parse("v = " + text);
    value = raw_from(*parsed.get("v"), where);
  } catch (const toml::parse_error&) {
    value = RawValue{vpnsdk::OptionValue{text}, "string", where, std::nullopt};
  }

  value.text = text;
  if (table == "host") {
    m.host[key] = value;
    return;
  }
  auto stage = stage_of_table(table);
  if (!stage) throw ManifestError(where, "unknown table '" + table + "'; valid tables: " + kStageTables);
  if (*stage == vpnsdk::Stage::responder)
    throw ManifestError(where, "--set cannot address one of several [[responder]] tables; edit the manifest");
  for (auto& e : m.stages) {
    if (e.stage != *stage) continue;
    if (key == "plugin") {
      if (!value.value || !std::holds_alternative<std::string>(*value.value))
        throw ManifestError(where, "plugin must be a string");
      e.plugin = std::get<std::string>(*value.value);
    } else {
      e.options[key] = value;
    }
    return;
  }
  if (m.tables_in_error.count(table)) return;  // its error is reported already
  throw ManifestError(where, "the manifest has no [" + table + "] table to set '" + key + "' in");
}

Manifest build(const toml::table& root, const std::string& file, const std::vector<std::string>& overrides,
               Diagnostics& diag) {
  Manifest m;
  m.file = file;
  m.base_dir = std::filesystem::absolute(std::filesystem::path(file)).parent_path();
  m.host_where = Position{file, 1, 1};
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    const Position kp = pos_of(key.source(), file);
    if (name == "host") {
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        diag.add(ManifestError(kp, "host must be a table: [host]"));
        continue;
      }
      m.host_where = kp;
      for (const auto& [hk, hv] : *t) m.host.emplace(std::string(hk.str()), raw_from(hv, pos_of(hk.source(), file)));
      continue;
    }
    auto stage = stage_of_table(name);
    if (!stage) {
      diag.add(ManifestError(kp, "unknown table '" + name + "'; valid tables: " + kStageTables));
      continue;
    }
    if (*stage == vpnsdk::Stage::responder) {
      const toml::array* arr = node.as_array();
      if (arr == nullptr || !arr->is_array_of_tables()) {
        diag.add(ManifestError(kp, "responders are an array of tables: write [[responder]] (one per responder)"));
        m.tables_in_error.insert(name);
        continue;
      }
      int i = 0;
      for (const auto& item : *arr) {
        ++i;
        const toml::table& t = *item.as_table();
        if (!diag.collect([&] {
              m.stages.push_back(stage_entry(*stage, "responder #" + std::to_string(i), t, pos_of(t.source(), file), file));
            }))
          m.tables_in_error.insert(name);
      }
      continue;
    }
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      diag.add(ManifestError(kp, name + " must be a table: [" + name + "]"));
      m.tables_in_error.insert(name);
      continue;
    }
    if (!diag.collect([&] { m.stages.push_back(stage_entry(*stage, name, *t, kp, file)); }))
      m.tables_in_error.insert(name);
  }
  for (const auto& spec : overrides) diag.collect([&] { apply_override(m, spec); });
  return m;
}

Manifest parse_toml(const std::string& text, const std::string& file, const std::vector<std::string>& overrides,
                    Diagnostics& diag) {
  try {
    toml::table root = toml::parse(text, file);
    return build(root, file, overrides, diag);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ManifestError(Position{file, static_cast<int>(b.line), static_cast<int>(b.column)},
                        std::string(e.description()));
  }
}

}  // namespace

std::string Position::str() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const StageEntry* Manifest::find(vpnsdk::Stage s) const {
  for (const auto& e : stages)
    if (e.stage == s) return &e;
  return nullptr;
}

Manifest parse_manifest(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                        Diagnostics& diag) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ManifestError(Position{file.string(), 0, 0}, "cannot read manifest: " + std::string(std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_toml(text.str(), file.string(), overrides, diag);
}

Manifest parse_manifest(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  Diagnostics diag;
  Manifest m = parse_manifest(file, overrides, diag);
  diag.throw_first();
  return m;
}

Manifest parse_manifest_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides, Diagnostics& diag) {
  return parse_toml(text, name, overrides, diag);
}

Manifest parse_manifest_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides) {
  Diagnostics diag;
  Manifest m = parse_toml(text, name, overrides, diag);
  diag.throw_first();
  return m;
}

}  // namespace vpnhost
