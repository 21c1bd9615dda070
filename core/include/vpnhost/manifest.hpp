// Manifest files (TOML): parsing into stage entries with source positions.
// Validation against plugin schemas happens in configure.hpp.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <set>
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
  ManifestError(const Position& where, const std::string& what)
      : std::runtime_error(where.str() + ": " + what), where_(where.str()), message_(what) {}
  // `where` already as text ("file:line:col", as Options::where() has it).
  static ManifestError at(const std::string& where, const std::string& what) { return ManifestError(where, what, 0); }
  // Where it is ("file:line:col", "file", or "--set SPEC") and what, apart.
  const std::string& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }

 private:
  ManifestError(const std::string& where, const std::string& what, int)
      : std::runtime_error(where + ": " + what), where_(where), message_(what) {}
  std::string where_, message_;
};

// Errors collected while validating, so that `vpnhost check` reports every
// one at once. The throwing APIs throw the first one collected.
class Diagnostics {
 public:
  void add(const ManifestError& e) { errors_.push_back(e); }
  bool empty() const noexcept { return errors_.empty(); }
  std::size_t size() const noexcept { return errors_.size(); }
  const std::vector<ManifestError>& errors() const noexcept { return errors_; }
  // Throws the first error, if there is one.
  void throw_first() const {
    if (!errors_.empty()) throw errors_.front();
  }
  // Runs f; a ManifestError it throws is collected. Returns whether it did not throw.
  template <class F>
  bool collect(F&& f) {
    try {
      f();
      return true;
    } catch (const ManifestError& e) {
      add(e);
      return false;
    }
  }

 private:
  std::vector<ManifestError> errors_;
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
  // Stage tables ("cipher", "responder") left out of `stages` because of an
  // error already reported: no "missing stage" error follows for them.
  std::set<std::string> tables_in_error;

  const StageEntry* find(vpnsdk::Stage s) const;
};

// Parses `file`; `overrides` are "table.key=value" from --set. Throws
// ManifestError (syntax, unknown tables, missing `plugin`, bad --set).
Manifest parse_manifest(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});
// The same, collecting every error after the TOML syntax into `diag` (a
// syntax error or an unreadable file is still thrown: nothing follows it).
// The manifest returned leaves out what was in error.
Manifest parse_manifest(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                        Diagnostics& diag);

// Parses TOML text directly (tests, fuzzing); `name` is used in messages.
Manifest parse_manifest_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides = {});
Manifest parse_manifest_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides, Diagnostics& diag);

}  // namespace vpnhost
