// Manifest files (TOML): parsing into stage entries with source positions.
// Validation against plugin schemas happens in configure.hpp.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vpnsdk/options.hpp"
#include "vpnsdk/plugin.hpp"

namespace vpnhost {

struct Position {
  std::string file;  // manifest path as given, or "--set" for the command line
  int line = 0;
  int column = 0;
  std::string str() const;
};

// Every error message starts with "file:line:col: ".
class ManifestError : public std::runtime_error {
 public:
  ManifestError(const Position& where, const std::string& what) : std::runtime_error(where.str() + ": " + what) {}
};

struct RawValue {
  std::optional<vpnsdk::OptionValue> value;  // nullopt: a TOML type no option can take
  std::string type_name;                     // TOML type, for messages
  Position where;
  std::optional<std::string> text;           // --set: the text as typed, for string options
};

using RawTable = std::map<std::string, RawValue>;

struct StageEntry {
  vpnsdk::Stage stage;
  std::string table;  // "cipher", or "responder #2" for repeated tables
  std::string plugin;
  Position where;     // the table header
  RawTable options;   // everything but `plugin`
};

struct Manifest {
  std::filesystem::path file;
  std::filesystem::path base_dir;  // relative paths inside resolve against this
  RawTable host;
  Position host_where;
  std::vector<StageEntry> stages;

  const StageEntry* find(vpnsdk::Stage s) const;
};

// Parses `file`; `overrides` are "table.key=value" from --set. Throws
// ManifestError (syntax, unknown tables, missing `plugin`, bad --set).
Manifest parse_manifest(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// Parses TOML text directly (tests, fuzzing); `name` is used in messages.
Manifest parse_manifest_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides = {});

}  // namespace vpnhost
