#pragma once
// The friendly flags of each record type (`vinculo child add --given-name Lucía --region Cusco`):
// which flag sets which field of the record message, and how a flag's text becomes the field's
// value. Flag names are the kebab-case of the field names unless the table says otherwise
// (family_id -> --family); enum flags take the enums' friendly names (enum_names.h); the kind of
// value a flag takes follows from the field's type, through protobuf reflection.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vinculo/v1/records.pb.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace vinculo::client::cli {

// One friendly flag of a record type.
struct FlagSpec {
  int field = 0;                // the field's number in the record message
  std::string_view name;        // the flag without "--"; empty: the kebab-case of the field name
  std::string_view help;        // one line for --help
  std::string_view value_name;  // shown in --help for text flags, e.g. "YYYY-MM-DD"; empty: TEXT
  bool now_on_add = false;      // `add` with flags writes the current instant when it is absent
};

// The friendly flags of `type`, in field order: every field of the record message except `id` and
// `deleted` has one. Empty for RECORD_TYPE_UNSPECIFIED.
std::span<const FlagSpec> FlagSpecs(v1::RecordType type);

// The name of `spec`'s flag for `type`, without "--" (e.g. "given-name", "family").
std::string FlagName(v1::RecordType type, const FlagSpec& spec);

// The friendly flags of one record type, added to one subcommand (add or update), holding their
// values once CLI11 has parsed the command line. Value rules, checked while parsing (a bad value is
// a usage error that lists what is allowed):
// - text: any UTF-8; "" clears the field (the store's validation decides whether it may be empty);
// - enum: one of the friendly names, or "" for "not recorded";
// - yes|no: a bool field;
// - a number (latitude, longitude): decimal degrees, or "" for "not captured";
// - a repeated flag (--attendee): one value per occurrence, the whole list replaces the field;
//   a single "" clears it.
class RecordFlags {
 public:
  // Adds the flags of `type` to `command`. The returned object must outlive parsing: capture it in
  // the command's callback.
  static std::shared_ptr<RecordFlags> AddTo(CLI::App& command, v1::RecordType type);

  RecordFlags(const RecordFlags&) = delete;
  RecordFlags& operator=(const RecordFlags&) = delete;
  ~RecordFlags();

  v1::RecordType type() const { return type_; }

  // The flags given on the command line, e.g. {"--given-name", "--region"}, in field order.
  std::vector<std::string> given_flags() const;

  // True when the flag that sets `field` was given.
  bool given(int field) const;

  // Writes the given flags' values into `record`'s message of this type (switching the record to
  // this type) and returns their field numbers, ascending. Flags not given are left alone.
  std::vector<uint32_t> ApplyTo(v1::Record* record) const;

 private:
  struct Binding;
  explicit RecordFlags(v1::RecordType type);

  v1::RecordType type_;
  std::vector<std::unique_ptr<Binding>> bindings_;  // stable addresses: CLI11 writes into them
};

}  // namespace vinculo::client::cli
